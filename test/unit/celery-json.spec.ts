import fc from 'fast-check';
import { parseCeleryJson } from '../../lib/protocol/celery-json';
import { toPythonJson } from '../../lib/protocol/python-json';

describe('Celery JSON numbers', () => {
  it('keeps integers beyond 2^53 exact as bigint, and safe ones as numbers', () => {
    expect(parseCeleryJson('[1180591620717411303424, -18446744073709551615, 9007199254740991, 12, 2.5]')).toEqual([
      2n ** 70n,
      -(2n ** 64n) + 1n,
      9007199254740991,
      12,
      2.5,
    ]);
  });

  it('round-trips any bigint through the kombu-compatible writer', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 128n), max: 2n ** 128n }), (value) => {
        const parsed = parseCeleryJson(toPythonJson([value])) as [number | bigint];
        expect(BigInt(parsed[0])).toBe(value);
        expect(typeof parsed[0]).toBe(Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? 'number' : 'bigint');
      }),
      { numRuns: 500 },
    );
  });

  it('parses every JSON value like JSON.parse, except that unsafe integers are exact bigints', () => {
    const asNumbers = (value: unknown): unknown =>
      typeof value === 'bigint'
        ? Number(value)
        : Array.isArray(value)
          ? value.map(asNumbers)
          : value && typeof value === 'object'
            ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, asNumbers(item)]))
            : value;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(asNumbers(parseCeleryJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('never lets a __proto__ key reach a prototype, on either path', () => {
    for (const text of ['{"__proto__": {"polluted": 1}}', '{"__proto__": {"polluted": 1}, "n": 12345678901234567890}']) {
      const parsed = parseCeleryJson(text) as Record<string, unknown>;
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(parsed)).toContain('__proto__');
    }
  });
});

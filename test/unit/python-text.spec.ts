import { argsRepr, kwargsRepr, REPR_MAX_LENGTH } from '../../lib/protocol/python-repr';
import { JsonEncodingError, toPythonJson } from '../../lib/protocol/python-json';
import { loadFixture } from '../support/fixtures';

describe('Python repr of task arguments', () => {
  it('matches the argsrepr/kwargsrepr Celery 5.2.6 wrote', () => {
    const { headers, body } = loadFixture('task_v2_apply_async_args_kwargs').message;
    expect(argsRepr(body[0])).toBe(headers.argsrepr);
    expect(kwargsRepr(body[1])).toBe(headers.kwargsrepr);
  });

  it('writes one-element tuples with a trailing comma and picks quotes like Python', () => {
    expect(argsRepr([5])).toBe('(5,)');
    expect(argsRepr([])).toBe('()');
    expect(argsRepr(["it's", 'say "hi"', "both ' \""])).toBe(`("it's", 'say "hi"', 'both \\' "')`);
  });

  it('caps the repr at 1024 characters', () => {
    expect(argsRepr(['x'.repeat(5000)])).toHaveLength(REPR_MAX_LENGTH);
  });
});

describe('kombu-compatible JSON', () => {
  it('escapes non-ASCII like json.dumps(ensure_ascii=True), astral characters as surrogate pairs', () => {
    expect(toPythonJson({ s: 'héllo ☃ 😀' })).toBe('{"s": "h\\u00e9llo \\u2603 \\ud83d\\ude00"}');
    expect(JSON.parse(toPythonJson({ s: 'héllo ☃ 😀' }))).toEqual({ s: 'héllo ☃ 😀' });
  });

  it('writes bigint as a plain integer and refuses non-finite numbers', () => {
    expect(toPythonJson([2n ** 70n])).toBe('[1180591620717411303424]');
    expect(toPythonJson([2 ** 60, -(2 ** 70), 1e21, 0.5])).toBe('[1152921504606846976, -1180591620717411303424, 1000000000000000000000, 0.5]');
    expect(() => toPythonJson([1, Number.NaN])).toThrow(JsonEncodingError);
    expect(() => toPythonJson({ a: Infinity })).toThrow(/\$\.a is Infinity/);
    expect(() => toPythonJson({ callback: () => 1 })).toThrow('$.callback is a function, which cannot be sent in a Celery message.');
    expect(() => toPythonJson([{ ok: 1 }, { list: [0, [Symbol('s')]] }])).toThrow('$[1].list[1][0] is a symbol, which cannot be sent in a Celery message.');
    expect(() => toPythonJson({ nested: { a: -Infinity } }, '$[1]')).toThrow('$[1].nested.a is -Infinity, which JSON cannot carry; send null or a string instead.');
  });

  it('escapes quotes, backslashes and control characters in short and long strings alike', () => {
    const tricky = 'a"b\\c\n\u007f\u0001/';
    const written = String.raw`a\"b\\c\n\u007f\u0001/`;
    expect(toPythonJson([tricky])).toBe(`["${written}"]`);
    expect(toPythonJson({ [tricky.repeat(20)]: 1 })).toBe(`{"${written.repeat(20)}": 1}`);
    expect(toPythonJson(['a"b'])).toBe('["a\\"b"]');
    expect(toPythonJson(['tab\there'])).toBe('["tab\\there"]');
    expect(toPythonJson(['\u007f'])).toBe('["\\u007f"]');
  });

  it('matches kombu 5.2.4 output for plain JSON values', () => {
    const value = [[1, 'two', [3, 4.5], null, true], { k: 'v', nested: { a: [1] } }, { callbacks: null }];
    expect(toPythonJson(value)).toBe('[[1, "two", [3, 4.5], null, true], {"k": "v", "nested": {"a": [1]}}, {"callbacks": null}]');
  });
});

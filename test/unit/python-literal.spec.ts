import { parsePythonLiteral, PythonLiteralError } from '../../lib/protocol/python-literal';
import { argsRepr, kwargsRepr } from '../../lib/protocol/python-repr';

describe('parsePythonLiteral (ast.literal_eval of the reprs task events carry)', () => {
  it('reads back what Celery and our worker write as argsrepr / kwargsrepr', () => {
    expect(parsePythonLiteral('(2, 3)')).toEqual([2, 3]);
    expect(parsePythonLiteral("('boom',)")).toEqual(['boom']);
    expect(parsePythonLiteral('()')).toEqual([]);
    expect(parsePythonLiteral("{'k': 'v', 'nested': {'a': [1, None, True, False, 1.5, -2e3]}}")).toEqual({ k: 'v', nested: { a: [1, null, true, false, 1.5, -2000] } });
    expect(parsePythonLiteral(`"it's"`)).toBe("it's");
    expect(parsePythonLiteral("'tab\\there \\u00e9\\x41'")).toBe('tab\there éA');
    expect(parsePythonLiteral('123456789012345678901234')).toBe(123456789012345678901234n);
    const args = [1, 'two', [3, 4.5], null, true, { k: "quote ' and \\" }];
    expect(parsePythonLiteral(argsRepr(args))).toEqual(args);
    expect(parsePythonLiteral(kwargsRepr({ a: 'x', b: [1] }))).toEqual({ a: 'x', b: [1] });
  });

  it('refuses what is not a literal, saying where', () => {
    expect(() => parsePythonLiteral('<object at 0x1>')).toThrow(PythonLiteralError);
    expect(() => parsePythonLiteral("('truncated...")).toThrow(/closing/);
    expect(() => parsePythonLiteral('(1, 2) extra')).toThrow(/the end/);
    expect(() => parsePythonLiteral('{1: 2}')).toThrow(/string keys/);
  });
});

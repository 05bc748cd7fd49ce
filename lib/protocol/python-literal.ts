/**
 * Reads a Python literal repr back into a value, like Python's `ast.literal_eval` for the types
 * Celery's JSON carries: None, True, False, ints, floats, strings, lists, tuples (as arrays) and
 * dicts with string keys. Task events carry arguments only as reprs (`"(2, 3)"`, `"{'k': 'v'}"`),
 * so this is how a monitor re-sends a task whose real arguments were not stored. Throws
 * PythonLiteralError on anything else (objects, truncated reprs `'...'`).
 */
export function parsePythonLiteral(text: string): unknown {
  const parser = new LiteralParser(text);
  const value = parser.value();
  parser.end();
  return value;
}

/** A repr that is not a plain literal. */
export class PythonLiteralError extends Error {
  override name = 'PythonLiteralError';
}

class LiteralParser {
  private at = 0;

  constructor(private readonly text: string) {}

  value(): unknown {
    this.space();
    const char = this.text[this.at];
    if (char === '(') return this.sequence('(', ')');
    if (char === '[') return this.sequence('[', ']');
    if (char === '{') return this.dict();
    if (char === "'" || char === '"') return this.string();
    const word = /^(None|True|False|-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|-?inf|nan)/.exec(this.text.slice(this.at));
    if (!word) throw this.error('a value');
    this.at += word[0].length;
    if (word[0] === 'None') return null;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (/^-?\d+$/.test(word[0])) {
      const big = BigInt(word[0]);
      return Number.isSafeInteger(Number(big)) ? Number(big) : big;
    }
    return Number(word[0].replace('inf', 'Infinity').replace('nan', 'NaN'));
  }

  end(): void {
    this.space();
    if (this.at !== this.text.length) throw this.error('the end');
  }

  private sequence(open: string, close: string): unknown[] {
    this.expect(open);
    const items: unknown[] = [];
    for (;;) {
      this.space();
      if (this.take(close)) return items;
      items.push(this.value());
      this.space();
      if (this.take(close)) return items;
      this.expect(',');
    }
  }

  private dict(): Record<string, unknown> {
    this.expect('{');
    const dict: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.take('}')) return dict;
      const key = this.value();
      if (typeof key !== 'string') throw new PythonLiteralError(`Only string keys can become JSON object keys, got ${String(key)}`);
      this.space();
      this.expect(':');
      dict[key] = this.value();
      this.space();
      if (this.take('}')) return dict;
      this.expect(',');
    }
  }

  private string(): string {
    const quote = this.text[this.at++];
    let result = '';
    for (;;) {
      const char = this.text[this.at++];
      if (char === undefined) throw this.error(`a closing ${quote}`);
      if (char === quote) return result;
      if (char !== '\\') {
        result += char;
        continue;
      }
      const escaped = this.text[this.at++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
      if (escaped in simple) result += simple[escaped];
      else if (escaped === 'x' || escaped === 'u' || escaped === 'U') {
        const length = escaped === 'x' ? 2 : escaped === 'u' ? 4 : 8;
        const hex = this.text.slice(this.at, this.at + length);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length) throw this.error('a hexadecimal escape');
        result += String.fromCodePoint(parseInt(hex, 16));
        this.at += length;
      } else throw this.error('a known escape');
    }
  }

  private space(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at += 1;
  }

  private take(char: string): boolean {
    if (this.text[this.at] !== char) return false;
    this.at += 1;
    return true;
  }

  private expect(char: string): void {
    if (!this.take(char)) throw this.error(`"${char}"`);
  }

  private error(expected: string): PythonLiteralError {
    return new PythonLiteralError(`Not a Python literal: expected ${expected} at position ${this.at} of ${JSON.stringify(this.text.slice(0, 80))}`);
  }
}

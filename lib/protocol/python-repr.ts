/**
 * Python `repr()` of JSON-like values, for the `argsrepr` / `kwargsrepr` headers that Flower and
 * Celery's logs show (Celery uses `saferepr`, capped at 1024 characters).
 */
export const REPR_MAX_LENGTH = 1024;

/** repr of positional args as Python sees them: a tuple, `(2, 3)` or `(1,)`. */
export function argsRepr(args: readonly unknown[]): string {
  const inner = args.map(pythonRepr).join(', ');
  return truncate(args.length === 1 ? `(${inner},)` : `(${inner})`);
}

/** repr of keyword args: `{'k': 'v'}`. */
export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return truncate(pythonRepr(kwargs));
}

function truncate(text: string): string {
  return text.length > REPR_MAX_LENGTH ? `${text.slice(0, REPR_MAX_LENGTH - 3)}...` : text;
}

export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
    case 'bigint':
      return value.toString();
    case 'string':
      return stringRepr(value);
    case 'object':
      if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
      if (value instanceof Date) return stringRepr(value.toISOString());
      return `{${Object.entries(value)
        .map(([key, item]) => `${stringRepr(key)}: ${pythonRepr(item)}`)
        .join(', ')}}`;
    default:
      return `<${typeof value}>`;
  }
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function stringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (ESCAPES[char]) out += ESCAPES[char];
    else if (char === quote) out += `\\${quote}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return out + quote;
}

import { PythonTuple } from '../../protocol/pickle';

/**
 * The text of the `result_json` column: the result as JSON so it can be queried in SQL, or null
 * when the value has no faithful JSON form (bytes, dates, NaN, Python objects). Tuples become
 * arrays; big integers keep every digit (jsonb numbers are exact). Exception results are their
 * dict, with `exc_message` as an array.
 */
export function toResultJsonColumn(result: unknown): string | null {
  if (result === null || result === undefined) return null;
  return writeJson(result, 0);
}

/** Deeper values are not worth a SQL copy, and the walk stays bounded. */
const MAX_DEPTH = 100;

/** PostgreSQL's jsonb refuses the NUL character, which JS strings may hold. */
const NUL = '\u0000';

/** And lone surrogates (valid in Python and JS strings, not in JSON text PostgreSQL accepts). */
const LONE_SURROGATE = /\p{Surrogate}/u;

function jsonbCanHold(text: string): boolean {
  return !text.includes(NUL) && !LONE_SURROGATE.test(text);
}

/** JSON text, or null as soon as one part has no JSON form. */
function writeJson(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case 'string':
      return jsonbCanHold(value) ? JSON.stringify(value) : null;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : null;
    case 'bigint':
      return value.toString();
    case 'object':
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) return null;
      if (Array.isArray(value)) return writeArray(value, depth);
      if (value instanceof PythonTuple) return writeArray(value.items, depth);
      return isPlainObject(value) ? writeObject(value as Record<string, unknown>, depth) : null;
    default:
      return null;
  }
}

function writeArray(items: readonly unknown[], depth: number): string | null {
  const parts: string[] = [];
  for (const item of items) {
    const part = writeJson(item, depth + 1);
    if (part === null) return null;
    parts.push(part);
  }
  return `[${parts.join(',')}]`;
}

function writeObject(object: Record<string, unknown>, depth: number): string | null {
  const parts: string[] = [];
  for (const [key, item] of Object.entries(object)) {
    if (!jsonbCanHold(key)) return null;
    const part = writeJson(item, depth + 1);
    if (part === null) return null;
    parts.push(`${JSON.stringify(key)}:${part}`);
  }
  return `{${parts.join(',')}}`;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

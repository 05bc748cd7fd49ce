import { CeleryError } from '../errors/celery.error';

/**
 * JSON text exactly as kombu 5.2.4 writes it (Python `json.dumps` defaults: `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`), so our messages are byte-identical to Python's.
 * Differences from JSON.stringify that matter: bigint is written as a plain integer (Python ints
 * are unbounded), and NaN/Infinity are refused instead of silently becoming null.
 */
export function toPythonJson(value: unknown): string {
  return write(value, '$');
}

export class JsonEncodingError extends CeleryError {}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;

function escapeCodeUnit(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function writeString(text: string): string {
  const quoted = JSON.stringify(text);
  return PRINTABLE_ASCII.test(quoted) ? quoted : quoted.replace(NOT_PRINTABLE_ASCII, escapeCodeUnit);
}

function write(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new JsonEncodingError(`${path} is ${value}, which JSON cannot carry; send null or a string instead.`);
      }
      // JS prints 2**60 as 1152921504606847000, which Python would read as another int: write the
      // double's exact integer value instead.
      return Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
      return 'null';
    case 'object':
      return value === null ? 'null' : writeObject(value, path);
    default:
      throw new JsonEncodingError(`${path} is a ${typeof value}, which cannot be sent in a Celery message.`);
  }
}

function writeObject(value: object, path: string): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ', ';
      out += write(value[index], `${path}[${index}]`);
    }
    return `${out}]`;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return write(withToJson.toJSON(), path);
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    // undefined marks an absent optional field (as JSON.stringify treats it); a function is data loss.
    if (item === undefined) continue;
    out += `${first ? '' : ', '}${writeString(key)}: ${write(item, `${path}.${key}`)}`;
    first = false;
  }
  return `${out}}`;
}

import { CeleryError } from '../errors/celery.error';

/**
 * JSON text exactly as kombu 5.2.4 writes it (Python `json.dumps` defaults: `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`), so our messages are byte-identical to Python's.
 * Differences from JSON.stringify that matter: bigint is written as a plain integer (Python ints
 * are unbounded), and NaN/Infinity are refused instead of silently becoming null.
 */
export function toPythonJson(value: unknown, path = '$'): string {
  try {
    return write(value);
  } catch (error) {
    if (error instanceof UnencodableValue) throw new JsonEncodingError(`${path}${error.path} ${error.problem}`);
    throw error;
  }
}

export class JsonEncodingError extends CeleryError {}

/**
 * Thrown inside the encoder and turned into a JsonEncodingError at the top: the path to the bad
 * value is built only while this unwinds, not for every value written (a string per value).
 */
class UnencodableValue {
  path = '';
  constructor(readonly problem: string) {}
}

function inside(error: unknown, step: string): unknown {
  if (error instanceof UnencodableValue) error.path = step + error.path;
  return error;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
/** Strings up to this length are checked char by char; longer ones by JSON.stringify and a regex, both native. */
const SHORT_STRING = 64;

function escapeCodeUnit(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function writeString(text: string): string {
  if (text.length <= SHORT_STRING && isPlainPrintable(text)) return `"${text}"`;
  const quoted = JSON.stringify(text);
  return PRINTABLE_ASCII.test(quoted) ? quoted : quoted.replace(NOT_PRINTABLE_ASCII, escapeCodeUnit);
}

/** Printable ASCII with nothing JSON escapes (`"`, `\\`): written as it is, between quotes. */
function isPlainPrintable(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

function write(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new UnencodableValue(`is ${value}, which JSON cannot carry; send null or a string instead.`);
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
      return value === null ? 'null' : writeObject(value);
    default:
      throw new UnencodableValue(`is a ${typeof value}, which cannot be sent in a Celery message.`);
  }
}

function writeObject(value: object): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ', ';
      try {
        out += write(value[index]);
      } catch (error) {
        throw inside(error, `[${index}]`);
      }
    }
    return `${out}]`;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return write(withToJson.toJSON());
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    // undefined marks an absent optional field (as JSON.stringify treats it); a function is data loss.
    if (item === undefined) continue;
    try {
      out += `${first ? '' : ', '}${writeString(key)}: ${write(item)}`;
    } catch (error) {
      throw inside(error, `.${key}`);
    }
    first = false;
  }
  return `${out}}`;
}

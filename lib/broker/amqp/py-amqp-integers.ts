/** amqplib's way to force a field type: `{ '!': 'int', value: 200 }`. */
type TypedField = { '!': 'int' | 'long'; value: number };

/**
 * Header values with every integer outside 0..127 given a type py-amqp reads back as written.
 *
 * amqplib picks the smallest AMQP integer type for a JS number: `b` for -128..127, `s` for 16
 * bits, `I` for 32, `l` for 64. py-amqp 5.1 (Python Celery's client and worker) reads `s` as a
 * *short string* and `b` as unsigned, so a header such as `clock: 200` or `retries: 300` makes
 * the Python side fail to decode the whole frame (IndexError in amqp/serialization.py). Such
 * integers go as `I` (int32, what py-amqp itself writes) or, beyond, `l` (int64, which py-amqp
 * reads unsigned: negative values that large do not survive). Returns the headers object itself
 * when nothing needs a type, which is the usual case for task messages, so nothing is copied.
 */
export function withPyAmqpIntegerTypes(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (headers === undefined || !needsTypes(headers)) return headers;
  return typed(headers) as Record<string, unknown>;
}

function isRiskyInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && (value < 0 || value > 127);
}

function isPlainContainer(value: unknown): value is object {
  // Buffers go as byte arrays, Dates as timestamps, `{ '!': … }` is amqplib's own typed field.
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && !(value instanceof Date) && !Object.hasOwn(value, '!');
}

// Runs on every published message's headers: plain loops, nothing allocated.
function needsTypes(value: unknown): boolean {
  if (isRiskyInteger(value)) return true;
  if (!isPlainContainer(value)) return false;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) if (needsTypes(value[index])) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && needsTypes((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function typed(value: unknown): unknown {
  if (isRiskyInteger(value)) return integerField(value);
  if (!isPlainContainer(value)) return value;
  if (Array.isArray(value)) return value.map(typed);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, typed(item)]));
}

function integerField(value: number): TypedField {
  return { '!': value >= -0x8000_0000 && value < 0x8000_0000 ? 'int' : 'long', value };
}

import { isInteger, isSafeNumber, parse } from 'lossless-json';

// Integers of 16 digits or more may be beyond 2^53 (9007199254740992): only then is the slower
// lossless parser needed. A digit run inside a string triggers it too, which is harmless.
const MAYBE_UNSAFE_INTEGER = /\d{16}/;

/**
 * Parses JSON from Celery peers without changing a number: integers beyond 2^53, which Python
 * sends freely (its ints are unbounded), become `bigint` instead of being rounded; every other
 * number is a plain `number`. Floats need nothing special: Python writes the shortest repr that
 * reads back as the same double.
 */
export function parseCeleryJson(text: string): unknown {
  if (!MAYBE_UNSAFE_INTEGER.test(text)) return JSON.parse(text);
  return parse(text, undefined, parseNumber);
}

function parseNumber(text: string): number | bigint {
  return isInteger(text) && !isSafeNumber(text) ? BigInt(text) : Number(text);
}

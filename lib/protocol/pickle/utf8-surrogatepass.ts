/**
 * UTF-8 as pickle writes str: with Python's `surrogatepass` error handler, so a lone surrogate
 * (legal in both Python and JS strings) travels as its 3-byte form `ED A0 80`…`ED BF BF` instead
 * of being replaced. Node's own codec replaces lone surrogates with U+FFFD, so these helpers take
 * over only when that could happen; ordinary text stays on Node's fast path.
 */

const REPLACEMENT_CHARACTER = '\ufffd';
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// String.prototype.isWellFormed is in Node 20 but not in the ES2023 typings this project uses.
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** True when the text has no lone surrogate, i.e. Node's UTF-8 encoder keeps it intact. */
export function isWellFormedText(text: string): boolean {
  return nativeIsWellFormed ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

/**
 * Decodes `data[start, end)` as UTF-8 with surrogatepass; null when the bytes are not valid
 * UTF-8 (Python's unpickler raises UnicodeDecodeError for them too).
 */
export function decodeUtf8SurrogatePass(data: Buffer, start: number, end: number): string | null {
  const text = data.toString('utf8', start, end);
  return text.includes(REPLACEMENT_CHARACTER) ? decodeStrictly(data, start, end) : text;
}

/** Encodes text whose lone surrogates must survive (only called when isWellFormedText is false). */
export function encodeUtf8SurrogatePass(text: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    let code = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
      index++;
    }
    pushCodePoint(bytes, code);
  }
  return Buffer.from(bytes);
}

function pushCodePoint(bytes: number[], code: number): void {
  if (code < 0x80) bytes.push(code);
  else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
  else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
}

/** Sequence length and smallest code point for each lead byte range (anything smaller is overlong). */
function sequenceShape(lead: number): [length: number, minimum: number] | null {
  if (lead < 0x80) return [1, 0];
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80];
  if (lead >= 0xe0 && lead <= 0xef) return [3, 0x800];
  if (lead >= 0xf0 && lead <= 0xf4) return [4, 0x10000];
  return null;
}

function decodeStrictly(data: Buffer, start: number, end: number): string | null {
  let text = '';
  let position = start;
  while (position < end) {
    const shape = sequenceShape(data[position]);
    if (!shape || position + shape[0] > end) return null;
    const [length, minimum] = shape;
    let code = length === 1 ? data[position] : data[position] & (0xff >> (length + 1));
    for (let offset = 1; offset < length; offset++) {
      const continuation = data[position + offset];
      if ((continuation & 0xc0) !== 0x80) return null;
      code = (code << 6) | (continuation & 0x3f);
    }
    if (code < minimum || code > 0x10ffff) return null;
    text += String.fromCodePoint(code);
    position += length;
  }
  return text;
}

import { encodeUtf8SurrogatePass, isWellFormedText } from './utf8-surrogatepass';

/** Longest text worth checking for ASCII by hand before handing it to Node's encoder. */
const SHORT_TEXT_LENGTH = 64;

/** Most bytes one UTF-16 code unit takes in UTF-8 (a BMP character; a surrogate pair takes 4 for 2). */
const MAX_UTF8_BYTES_PER_CODE_UNIT = 3;

/**
 * A byte buffer that doubles when full, so the encoder writes straight into memory with
 * Buffer's native writers instead of pushing numbers into an array and copying them later.
 */
export class GrowableBuffer {
  private buffer: Buffer;
  private length = 0;

  constructor(initialCapacity: number) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  /** Bytes allocated, so an owner can decide whether keeping this buffer around is worth it. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** Forgets what was written, keeping the memory for the next use. */
  reset(): void {
    this.length = 0;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(source: Uint8Array): void {
    this.reserve(source.length);
    this.buffer.set(source, this.length);
    this.length += source.length;
  }

  int32LE(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32LE(value, this.length);
  }

  uint32LE(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }

  float64BE(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeDoubleBE(value, this.length);
  }

  /** A 4-byte little-endian byte count, then the text as UTF-8 (lone surrogates kept, as Python's surrogatepass does). */
  uint32LengthPrefixedUtf8(text: string): void {
    if (text.length <= SHORT_TEXT_LENGTH && this.shortAsciiWithLength(text)) return;
    if (!isWellFormedText(text)) {
      const encoded = encodeUtf8SurrogatePass(text);
      this.uint32LE(encoded.length);
      this.bytes(encoded);
      return;
    }
    // Write the text first into room sized for the worst case, then fill in its real length.
    this.reserve(4 + text.length * MAX_UTF8_BYTES_PER_CODE_UNIT);
    const lengthOffset = this.length;
    const written = this.buffer.write(text, lengthOffset + 4, 'utf8');
    this.buffer.writeUInt32LE(written, lengthOffset);
    this.length = lengthOffset + 4 + written;
  }

  /**
   * Dict keys and most values are short ASCII; copying their code units directly is several
   * times faster than a call into Node's UTF-8 encoder. False (nothing written) at the first
   * non-ASCII character.
   */
  private shortAsciiWithLength(text: string): boolean {
    this.reserve(4 + text.length);
    const buffer = this.buffer;
    const start = this.length + 4;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) return false;
      buffer[start + index] = code;
    }
    this.length = buffer.writeUInt32LE(text.length, this.length) + text.length;
    return true;
  }

  /** A copy of the bytes written, so this buffer can be reused. */
  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

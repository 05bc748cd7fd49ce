import type { X509Certificate } from 'node:crypto';

/**
 * The id a signed message names its signer by (Celery's `Certificate.get_id()`): the values of
 * the issuer's attributes in certificate order, joined by spaces, then a space and the serial
 * number in decimal — `XX CaptureTest celery-capture 1667508509569789972426524489242…`.
 * Python reads the raw values; Node prints the issuer RFC 2253-escaped, one attribute a line,
 * so the escapes are undone here to reach the same text.
 */
export function certificateId(certificate: X509Certificate): string {
  const values = certificate.issuer
    .split('\n')
    .flatMap((line) => line.split(/ \+ (?=[A-Za-z0-9.]+=)/)) // attributes of a multi-valued RDN
    .map((attribute) => unescapeDistinguishedValue(attribute.slice(attribute.indexOf('=') + 1)));
  return `${values.join(' ')} ${BigInt(`0x${certificate.serialNumber}`).toString(10)}`;
}

/** `\,` → `,` and `\C3\A9` → `é` (OpenSSL's RFC 2253 escapes; hex pairs are UTF-8 bytes). */
function unescapeDistinguishedValue(escaped: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < escaped.length; index++) {
    const char = escaped[index];
    if (char === '\\' && index + 1 < escaped.length) {
      const hex = escaped.slice(index + 1, index + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        index += 2;
      } else {
        bytes.push(...Buffer.from(escaped[index + 1], 'utf8'));
        index += 1;
      }
    } else {
      const codePoint = escaped.codePointAt(index)!;
      const text = String.fromCodePoint(codePoint);
      bytes.push(...Buffer.from(text, 'utf8'));
      index += text.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

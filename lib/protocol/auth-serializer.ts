import { constants, KeyObject, sign, verify, X509Certificate } from 'node:crypto';

/** Content type and encoding of Celery's `auth` serializer (what `celery[auth]` registers). */
export const AUTH_CONTENT_TYPE = 'application/data';
export const AUTH_CONTENT_ENCODING = 'utf-8';

/** Digests Celery's `security_digest` may name that both sides support; Celery's default is sha256. */
export const SECURITY_DIGESTS = ['sha256', 'sha384', 'sha512', 'sha224'] as const;
export type SecurityDigest = (typeof SECURITY_DIGESTS)[number];

const SEPARATOR = Buffer.from([0x00, 0x01]);
const DIGEST_BYTES: Record<SecurityDigest, number> = { sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/**
 * How the signer and signature are laid out inside a signed payload. Celery 5.5 (celery#9010)
 * base64-encodes both, so the separator can no longer occur inside them; Celery up to 5.4 wrote
 * them raw. Each Celery reads only its own layout, so the sender must write the receivers' one;
 * we read both.
 */
export const SIGNATURE_FORMATS = ['5.4', '5.5'] as const;
export type SignatureFormat = (typeof SIGNATURE_FORMATS)[number];

/** Who signs: the private key, the id of its certificate (certificateId()), the digest and the layout. */
export interface MessageSigner {
  key: KeyObject;
  signerId: string;
  digest: SecurityDigest;
  format: SignatureFormat;
}

/** Certificates trusted to sign, by certificate id (Celery's `security_cert_store`), and the digest. */
export interface MessageVerifier {
  certificates: ReadonlyMap<string, X509Certificate>;
  digest: SecurityDigest;
}

/** The serialization a signed payload carried, once its signature checked out. */
export interface VerifiedPayload {
  contentType: string;
  contentEncoding: string;
  body: Buffer;
}

/** Why a signed payload was not accepted: a sentence for the log, no secret in it. */
export class SignatureRejection extends Error {}

/**
 * Signs an already serialized body as Celery's `SecureSerializer.serialize` does
 * (celery-protocol.md §10): base64 of `signer \0\1 signature \0\1 content_type \0\1
 * content_encoding \0\1 body`, the signature being RSA-PSS (MGF1, maximum salt) over the body;
 * in the 5.5 format signer and signature are each base64-encoded first.
 */
export function signPayload(body: Buffer, contentType: string, contentEncoding: string, signer: MessageSigner): Buffer {
  const signature = sign(signer.digest, body, {
    key: signer.key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: maxSaltLength(signer.key, signer.digest),
  });
  const signerId = Buffer.from(signer.signerId, 'utf8');
  const base64 = signer.format === '5.5';
  const packed = Buffer.concat([
    base64 ? Buffer.from(signerId.toString('base64'), 'ascii') : signerId,
    SEPARATOR,
    base64 ? Buffer.from(signature.toString('base64'), 'ascii') : signature,
    SEPARATOR,
    Buffer.from(contentType, 'utf8'),
    SEPARATOR,
    Buffer.from(contentEncoding, 'utf8'),
    SEPARATOR,
    body,
  ]);
  return Buffer.from(packed.toString('base64'), 'ascii');
}

/**
 * Checks a payload of Celery's `auth` serializer and returns the serialization it wraps
 * (`SecureSerializer.deserialize`), in either format: a first field that names a trusted
 * certificate as it stands is the 5.4 layout, one that does once base64-decoded the 5.5 layout.
 * The signer must be in the trusted certificates and the signature must cover the body exactly;
 * otherwise a SignatureRejection says which check failed.
 */
export function verifyPayload(payload: Buffer, verifier: MessageVerifier): VerifiedPayload {
  const raw = Buffer.from(payload.toString('ascii'), 'base64');
  const signerEnd = raw.indexOf(SEPARATOR);
  if (signerEnd < 0) throw new SignatureRejection('the body is not a signed payload of Celery\'s auth serializer (no signer)');
  const firstField = raw.subarray(0, signerEnd).toString('utf8');
  const unpacked = verifier.certificates.has(firstField) ? unpackRawFields(raw, signerEnd, verifier) : unpackBase64Fields(raw, firstField, verifier);
  const { certificate, signature, contentType, contentEncoding, body } = unpacked;
  const valid = verify(verifier.digest, body, {
    key: certificate.publicKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: maxSaltLength(certificate.publicKey, verifier.digest),
  }, signature);
  if (!valid) throw new SignatureRejection(`its signature does not match its body (changed after signing, or signed with another digest than ${verifier.digest})`);
  return { contentType: contentType.toString('utf8'), contentEncoding: contentEncoding.toString('utf8'), body };
}

interface UnpackedPayload {
  certificate: X509Certificate;
  signature: Buffer;
  contentType: Buffer;
  contentEncoding: Buffer;
  body: Buffer;
}

/**
 * Celery ≤ 5.4: the signature is raw bytes that may contain the separator, so, like Celery, it
 * is cut by the signer's key size rather than split on.
 */
function unpackRawFields(raw: Buffer, signerEnd: number, verifier: MessageVerifier): UnpackedPayload {
  const certificate = verifier.certificates.get(raw.subarray(0, signerEnd).toString('utf8'))!;
  const signatureStart = signerEnd + SEPARATOR.length;
  const signatureLength = modulusBits(certificate.publicKey) >> 3;
  const signatureEnd = signatureStart + signatureLength;
  const signature = raw.subarray(signatureStart, signatureEnd);
  const fields = splitFields(raw.subarray(signatureEnd + SEPARATOR.length), 3);
  if (signature.length !== signatureLength || !raw.subarray(signatureEnd, signatureEnd + SEPARATOR.length).equals(SEPARATOR) || fields.length !== 3) {
    throw new SignatureRejection('the signed payload is truncated or malformed');
  }
  const [contentType, contentEncoding, body] = fields;
  return { certificate, signature, contentType, contentEncoding, body };
}

/** Celery ≥ 5.5: five fields split on the separator (at most four times), signer and signature in base64. */
function unpackBase64Fields(raw: Buffer, firstField: string, verifier: MessageVerifier): UnpackedPayload {
  const signerId = Buffer.from(firstField, 'base64').toString('utf8');
  const certificate = verifier.certificates.get(signerId);
  if (!certificate) {
    const named = BASE64.test(firstField) ? signerId : firstField;
    throw new SignatureRejection(`it is signed by certificate "${printable(named)}", which is not in the trusted certificate store`);
  }
  const fields = splitFields(raw.subarray(firstField.length + SEPARATOR.length), 4);
  if (fields.length !== 4 || !BASE64.test(fields[0].toString('ascii'))) throw new SignatureRejection('the signed payload is truncated or malformed');
  const [signature, contentType, contentEncoding, body] = fields;
  return { certificate, signature: Buffer.from(signature.toString('ascii'), 'base64'), contentType, contentEncoding, body };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** PSS.MAX_LENGTH of Python's cryptography, which both signs and verifies with it: emLen − hLen − 2. */
function maxSaltLength(key: KeyObject, digest: SecurityDigest): number {
  return Math.ceil((modulusBits(key) - 1) / 8) - DIGEST_BYTES[digest] - 2;
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || !bits) throw new SignatureRejection('the certificate\'s key is not RSA; Celery signs with RSA keys only');
  return bits;
}

/** Splits on the separator into at most `count` fields, the last one keeping the rest (Python's `split(sep, count - 1)`). */
function splitFields(rest: Buffer, count: number): Buffer[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (let end = rest.indexOf(SEPARATOR); end >= 0 && fields.length < count - 1; end = rest.indexOf(SEPARATOR, start)) {
    fields.push(rest.subarray(start, end));
    start = end + SEPARATOR.length;
  }
  fields.push(rest.subarray(start));
  return fields;
}

function printable(text: string): string {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return shown.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?');
}

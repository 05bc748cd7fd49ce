import { constants, KeyObject, sign, verify, X509Certificate } from 'node:crypto';

/** Content type and encoding of Celery's `auth` serializer (what `celery[auth]` registers). */
export const AUTH_CONTENT_TYPE = 'application/data';
export const AUTH_CONTENT_ENCODING = 'utf-8';

/** Digests Celery's `security_digest` may name that both sides support; Celery's default is sha256. */
export const SECURITY_DIGESTS = ['sha256', 'sha384', 'sha512', 'sha224'] as const;
export type SecurityDigest = (typeof SECURITY_DIGESTS)[number];

const SEPARATOR = Buffer.from([0x00, 0x01]);
const DIGEST_BYTES: Record<SecurityDigest, number> = { sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** Who signs: the private key, the id of its certificate (certificateId()) and the digest. */
export interface MessageSigner {
  key: KeyObject;
  signerId: string;
  digest: SecurityDigest;
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
 * Signs an already serialized body as Celery 5.2.6's `SecureSerializer.serialize` does
 * (celery-protocol.md §10): base64 of `signer \0\1 signature \0\1 content_type \0\1
 * content_encoding \0\1 body`, the signature being RSA-PSS (MGF1, maximum salt) over the body.
 */
export function signPayload(body: Buffer, contentType: string, contentEncoding: string, signer: MessageSigner): Buffer {
  const signature = sign(signer.digest, body, {
    key: signer.key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: maxSaltLength(signer.key, signer.digest),
  });
  const packed = Buffer.concat([
    Buffer.from(signer.signerId, 'utf8'),
    SEPARATOR,
    signature,
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
 * (`SecureSerializer.deserialize`). The signer must be in the trusted certificates and the
 * signature must cover the body exactly; otherwise a SignatureRejection says which check failed.
 * The signature is raw bytes that may contain the separator, so, like Celery, it is cut by the
 * signer's key size rather than split on.
 */
export function verifyPayload(payload: Buffer, verifier: MessageVerifier): VerifiedPayload {
  const raw = Buffer.from(payload.toString('ascii'), 'base64');
  const signerEnd = raw.indexOf(SEPARATOR);
  if (signerEnd < 0) throw new SignatureRejection('the body is not a signed payload of Celery\'s auth serializer (no signer)');
  const signerId = raw.subarray(0, signerEnd).toString('utf8');
  const certificate = verifier.certificates.get(signerId);
  if (!certificate) throw new SignatureRejection(`it is signed by certificate "${printable(signerId)}", which is not in the trusted certificate store`);
  const signatureStart = signerEnd + SEPARATOR.length;
  const signatureLength = modulusBits(certificate.publicKey) >> 3;
  const signatureEnd = signatureStart + signatureLength;
  const signature = raw.subarray(signatureStart, signatureEnd);
  const fields = splitFields(raw.subarray(signatureEnd + SEPARATOR.length));
  if (signature.length !== signatureLength || !raw.subarray(signatureEnd, signatureEnd + SEPARATOR.length).equals(SEPARATOR) || fields.length !== 3) {
    throw new SignatureRejection('the signed payload is truncated or malformed');
  }
  const [contentType, contentEncoding, body] = fields;
  const valid = verify(verifier.digest, body, {
    key: certificate.publicKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: maxSaltLength(certificate.publicKey, verifier.digest),
  }, signature);
  if (!valid) throw new SignatureRejection(`its signature does not match its body (changed after signing, or signed with another digest than ${verifier.digest})`);
  return { contentType: contentType.toString('utf8'), contentEncoding: contentEncoding.toString('utf8'), body };
}

/** PSS.MAX_LENGTH of Python's cryptography, which both signs and verifies with it: emLen − hLen − 2. */
function maxSaltLength(key: KeyObject, digest: SecurityDigest): number {
  return Math.ceil((modulusBits(key) - 1) / 8) - DIGEST_BYTES[digest] - 2;
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || !bits) throw new SignatureRejection('the certificate\'s key is not RSA; Celery signs with RSA keys only');
  return bits;
}

function splitFields(rest: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (let end = rest.indexOf(SEPARATOR); end >= 0; end = rest.indexOf(SEPARATOR, start)) {
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

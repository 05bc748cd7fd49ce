import type { SecurityDigest, SignatureFormat } from '../protocol/auth-serializer';
import { optionKeys } from '../utils/option-keys';

/**
 * Message signing with Celery's `auth` serializer (Celery: the `security_*` settings and
 * `app.setup_security()`, what `celery[auth]` installs). Keys and certificates are PEM strings or
 * paths of PEM files. See SECURITY.md for what signing does and does not protect.
 */
export interface SecurityOptions {
  /** RSA private key that signs every task this app sends (Celery: `security_key`). Needs `certificate`. */
  key?: string;
  /** The certificate of that key (Celery: `security_certificate`); its issuer and serial name the signer. */
  certificate?: string;
  /**
   * Certificates trusted to sign the tasks this worker runs (Celery: `security_cert_store`): PEM
   * strings, files, a directory or a glob such as `certs/*.pem`, or a list of those.
   */
  certStore?: string | string[];
  /** Celery's `security_digest`: 'sha256' (default), 'sha384', 'sha512' or 'sha224'. Every party must use the same. */
  digest?: SecurityDigest;
  /**
   * How the messages this app signs are laid out, for the Celery that reads them: '5.4' (default;
   * Celery 5.2–5.4 read only this) or '5.5' (Celery 5.5 and later read only this: signer and
   * signature base64-encoded, celery#9010). Signed messages of either layout are accepted.
   */
  signatureFormat?: SignatureFormat;
  /**
   * Run signed messages only; unsigned ones are rejected (Celery: `accept_content = ['auth']`).
   * false also accepts plain JSON, for a rolling switch to signing. Default true when `certStore` is set.
   */
  required?: boolean;
}

export const SECURITY_OPTION_KEYS = optionKeys<SecurityOptions>()('key', 'certificate', 'certStore', 'digest', 'signatureFormat', 'required');

import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
import type { SecurityOptions } from './security-options';
import { MessageSigner, SecurityDigest } from '../protocol/auth-serializer';
import { certificateId } from '../protocol/certificate-id';
import { SignaturePolicy, UNSIGNED_ONLY } from '../protocol/decode-task-message';
import { globToRegExp } from '../utils/fnmatch';

/** What the `security` option resolves to: who signs what this app sends, and what its worker accepts. */
export interface MessageSecurity {
  /** null: tasks are sent unsigned, as JSON. */
  signer: MessageSigner | null;
  signatures: SignaturePolicy;
}

export const NO_MESSAGE_SECURITY: MessageSecurity = { signer: null, signatures: UNSIGNED_ONLY };

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;

/**
 * Loads the key and certificates of the `security` option, as Celery's `app.setup_security()`
 * does (but each part alone works too: a key for a producer, a store for a worker), and checks them at start-up: the key must be RSA and belong to the certificate, the store
 * must hold at least one certificate, none expired or twice. Every problem is reported at once;
 * no key material ever appears in a message.
 */
export function loadMessageSecurity(options: SecurityOptions | undefined): MessageSecurity {
  if (!options) return NO_MESSAGE_SECURITY;
  const problems: string[] = [];
  const digest: SecurityDigest = options.digest ?? 'sha256';
  const own = loadSigner(options, digest, problems);
  const store = options.certStore === undefined ? null : loadStore(options.certStore, problems);
  const required = options.required ?? store !== null;
  if (required && store === null) {
    problems.push('security.required needs security.certStore: the certificates trusted to sign the tasks this worker runs');
  }
  if (problems.length > 0) throw new InvalidCeleryOptionsError(problems);
  // The worker always trusts the app's own certificate, so the retries and workflow steps it
  // signs itself are never refused (Celery would refuse them unless the store held it).
  const certificates = new Map(store);
  if (own) certificates.set(own.signer.signerId, own.certificate);
  return { signer: own?.signer ?? null, signatures: { verifier: certificates.size > 0 ? { certificates, digest } : null, required } };
}

function loadSigner(options: SecurityOptions, digest: SecurityDigest, problems: string[]): { signer: MessageSigner; certificate: X509Certificate } | null {
  if (options.key === undefined && options.certificate === undefined) return null;
  if (options.key === undefined || options.certificate === undefined) {
    problems.push('security.key and security.certificate go together: the private key that signs and its certificate, which names the signer');
    return null;
  }
  const keyPem = readPem('security.key', options.key, problems);
  const certificate = loadCertificate('security.certificate', options.certificate, problems);
  if (keyPem === null || certificate === null) return null;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    problems.push('security.key is not an unencrypted PEM private key (Celery 5.2.6 cannot use a passphrase either)');
    return null;
  }
  if (key.asymmetricKeyType !== 'rsa') {
    problems.push(`security.key is a ${key.asymmetricKeyType} key; Celery signs with RSA keys only`);
    return null;
  }
  if (!certificate.checkPrivateKey(key)) {
    problems.push(`security.key does not belong to security.certificate (${certificateId(certificate)}); give the key the certificate was issued for`);
    return null;
  }
  return { signer: { key, signerId: certificateId(certificate), digest, format: options.signatureFormat ?? '5.4' }, certificate };
}

/** Celery's FSCertStore: certificates by id; an expired or duplicate certificate fails the start. */
function loadStore(store: string | string[], problems: string[]): Map<string, X509Certificate> {
  const problemsBefore = problems.length;
  const certificates = new Map<string, X509Certificate>();
  const sources = (Array.isArray(store) ? store : [store]).flatMap((source) => expandStoreSource(source, problems));
  for (const [index, source] of sources.entries()) {
    const certificate = loadCertificate(`security.certStore (${PEM.test(source) ? `PEM #${index + 1}` : source})`, source, problems);
    if (!certificate) continue;
    const id = certificateId(certificate);
    if (new Date(certificate.validTo) <= new Date()) problems.push(`security.certStore: certificate ${id} expired on ${certificate.validTo}; remove or renew it`);
    else if (certificates.has(id)) problems.push(`security.certStore holds certificate ${id} twice`);
    else certificates.set(id, certificate);
  }
  if (certificates.size === 0 && problems.length === problemsBefore) problems.push('security.certStore holds no certificate: give PEM files, a directory of them, or PEM strings');
  return certificates;
}

/** A PEM string stays itself; a directory becomes its files; a glob (`certs/*.pem`) the files it matches. */
function expandStoreSource(source: string, problems: string[]): string[] {
  if (typeof source !== 'string') {
    problems.push('security.certStore must be a PEM string, a file, a directory or a glob, or a list of those');
    return [];
  }
  if (PEM.test(source)) return [source];
  if (/[*?[]/.test(basename(source))) {
    const pattern = globToRegExp(basename(source));
    const files = listFiles(dirname(source), problems).filter((file) => pattern.test(basename(file)));
    if (files.length === 0) problems.push(`security.certStore: no file matches ${source}`);
    return files;
  }
  try {
    if (statSync(source).isDirectory()) return listFiles(source, problems);
  } catch {
    // readPem reports the missing file with the option's name.
  }
  return [source];
}

function listFiles(directory: string, problems: string[]): string[] {
  try {
    return readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(directory, entry.name))
      .sort();
  } catch (error) {
    problems.push(`security.certStore: cannot list ${directory} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return [];
  }
}

function loadCertificate(name: string, source: string, problems: string[]): X509Certificate | null {
  const pem = readPem(name, source, problems);
  if (pem === null) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    problems.push(`${name} is not a PEM X.509 certificate`);
    return null;
  }
}

/** The PEM text itself, or the contents of the file it names. */
function readPem(name: string, source: string, problems: string[]): string | null {
  if (typeof source !== 'string' || source.length === 0) {
    problems.push(`${name} must be a PEM string or the path of a PEM file`);
    return null;
  }
  if (PEM.test(source)) return source;
  try {
    return readFileSync(source, 'utf8');
  } catch (error) {
    problems.push(`${name}: cannot read the file ${source} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a PEM string or the path of a PEM file`);
    return null;
  }
}

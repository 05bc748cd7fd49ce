import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One signer made for a test: PEM files on disk and their contents. */
export interface TestSigner {
  keyPath: string;
  certificatePath: string;
  keyPem: string;
  certificatePem: string;
}

/**
 * Throwaway self-signed RSA certificates, generated at test time with the openssl CLI so no
 * private key is ever committed. `remove()` deletes the directory.
 */
export interface TestPki {
  dir: string;
  /** A key and its self-signed certificate; `expired` gives one that ended yesterday. */
  signer(name: string, options?: { bits?: number; subject?: string; expired?: boolean }): TestSigner;
  /** A certificate authority and a TLS server certificate it issued for localhost and 127.0.0.1. */
  tlsServer(name: string): { caPem: string; caPath: string; keyPem: string; keyPath: string; certificatePem: string; certificatePath: string };
  remove(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'celery-pki-'));
  return {
    dir,
    signer(name, options = {}) {
      const keyPath = join(dir, `${name}.key`);
      const certificatePath = join(dir, `${name}.pem`);
      const subject = options.subject ?? `/C=XX/O=NestjsCeleryTest/CN=${name}`;
      const newKey = ['-newkey', `rsa:${options.bits ?? 2048}`, '-nodes', '-utf8', '-keyout', keyPath, '-subj', subject];
      if (options.expired) {
        // `req -x509` refuses negative days; `x509 -req` signs a request with them.
        const request = join(dir, `${name}.csr`);
        execFileSync('openssl', ['req', '-new', ...newKey, '-out', request], { stdio: 'pipe' });
        execFileSync('openssl', ['x509', '-req', '-in', request, '-signkey', keyPath, '-days', '-1', '-out', certificatePath], { stdio: 'pipe' });
      } else {
        execFileSync('openssl', ['req', '-x509', ...newKey, '-days', '2', '-out', certificatePath], { stdio: 'pipe' });
      }
      return { keyPath, certificatePath, keyPem: readFileSync(keyPath, 'utf8'), certificatePem: readFileSync(certificatePath, 'utf8') };
    },
    tlsServer(name) {
      const ca = this.signer(`${name}-ca`, { subject: `/O=NestjsCeleryTest/CN=${name} test CA` });
      const keyPath = join(dir, `${name}-server.key`);
      const certificatePath = join(dir, `${name}-server.pem`);
      const request = join(dir, `${name}-server.csr`);
      const extensions = join(dir, `${name}-server.ext`);
      writeFileSync(extensions, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
      execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-subj', '/CN=localhost', '-out', request], { stdio: 'pipe' });
      execFileSync(
        'openssl',
        ['x509', '-req', '-in', request, '-CA', ca.certificatePath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', certificatePath],
        { stdio: 'pipe' },
      );
      return {
        caPem: ca.certificatePem,
        caPath: ca.certificatePath,
        keyPem: readFileSync(keyPath, 'utf8'),
        keyPath,
        certificatePem: readFileSync(certificatePath, 'utf8'),
        certificatePath,
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

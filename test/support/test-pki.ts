import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
  signer(name: string, options?: { bits?: number; days?: number; subject?: string }): TestSigner;
  remove(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'celery-pki-'));
  return {
    dir,
    signer(name, options = {}) {
      const keyPath = join(dir, `${name}.key`);
      const certificatePath = join(dir, `${name}.pem`);
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', `rsa:${options.bits ?? 2048}`, '-nodes', '-utf8', '-keyout', keyPath, '-out', certificatePath,
          '-days', String(options.days ?? 2), '-subj', options.subject ?? `/C=XX/O=NestjsCeleryTest/CN=${name}`],
        { stdio: 'pipe' },
      );
      return { keyPath, certificatePath, keyPem: readFileSync(keyPath, 'utf8'), certificatePem: readFileSync(certificatePath, 'utf8') };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

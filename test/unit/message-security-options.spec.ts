import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { InvalidCeleryOptionsError } from '../../lib/errors/invalid-celery-options.error';
import { SecurityOptions } from '../../lib/security/security-options';
import { loadMessageSecurity } from '../../lib/security/load-message-security';
import { createTestPki, TestPki, TestSigner } from '../support/test-pki';

function problemsOf(security: unknown): string[] {
  try {
    resolveCeleryConfig(validateCeleryOptions({ broker: 'memory://', security: security as SecurityOptions }));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCeleryOptionsError);
    return (error as InvalidCeleryOptionsError).problems;
  }
  throw new Error('expected the options to be refused');
}

describe('the security option', () => {
  let pki: TestPki;
  let alice: TestSigner;
  let bob: TestSigner;
  let expired: TestSigner;
  beforeAll(() => {
    pki = createTestPki();
    alice = pki.signer('alice');
    bob = pki.signer('bob');
    expired = pki.signer('expired', { expired: true });
  });
  afterAll(() => pki.remove());

  it('is off by default: tasks go unsigned, signed ones are refused', () => {
    const security = resolveCeleryConfig({ broker: 'memory://' }).security;
    expect(security.signer).toBeNull();
    expect(security.signatures).toEqual({ verifier: null, required: false });
  });

  it("signs in Celery 5.4's layout unless signatureFormat asks for 5.5's", () => {
    expect(loadMessageSecurity({ key: alice.keyPath, certificate: alice.certificatePath }).signer?.format).toBe('5.4');
    expect(loadMessageSecurity({ key: alice.keyPath, certificate: alice.certificatePath, signatureFormat: '5.5' }).signer?.format).toBe('5.5');
  });

  it('loads key and certificate from files or PEM strings, to the same signer', () => {
    const fromFiles = loadMessageSecurity({ key: alice.keyPath, certificate: alice.certificatePath });
    const fromPem = loadMessageSecurity({ key: alice.keyPem, certificate: alice.certificatePem });
    expect(fromFiles.signer?.signerId).toMatch(/^XX NestjsCeleryTest alice \d+$/);
    expect(fromPem.signer?.signerId).toBe(fromFiles.signer?.signerId);
    // Its worker trusts its own certificate (its retries are signed) and still takes plain JSON.
    expect([...fromFiles.signatures.verifier!.certificates.keys()]).toEqual([fromFiles.signer!.signerId]);
    expect(fromFiles.signatures.required).toBe(false);
  });

  it('reads a store from a directory, a glob, files and PEM strings, and requires signatures once it is set', () => {
    const directory = join(pki.dir, 'store');
    mkdirSync(directory);
    copyFileSync(alice.certificatePath, join(directory, 'alice.pem'));
    copyFileSync(bob.certificatePath, join(directory, 'bob.crt'));
    const ids = (certStore: string | string[]) => [...loadMessageSecurity({ certStore }).signatures.verifier!.certificates.keys()].map((id) => id.split(' ')[2]);
    expect(ids(directory)).toEqual(['alice', 'bob']);
    expect(ids(join(directory, '*.pem'))).toEqual(['alice']);
    expect(ids([alice.certificatePath, bob.certificatePem])).toEqual(['alice', 'bob']);
    expect(loadMessageSecurity({ certStore: directory }).signatures.required).toBe(true);
    expect(loadMessageSecurity({ certStore: directory, required: false }).signatures.required).toBe(false);
  });

  it('refuses at start-up what cannot work, naming every problem and never the key', () => {
    const problems = problemsOf({ key: alice.keyPem, certificate: bob.certificatePath, certStore: [expired.certificatePath, alice.certificatePem, alice.certificatePath], digest: 'md5' });
    expect(problems).toEqual([
      expect.stringMatching(/^security.digest must be one of sha256, sha384, sha512, sha224/),
    ]);
    const loaded = problemsOf({ key: alice.keyPem, certificate: bob.certificatePath, certStore: [expired.certificatePath, alice.certificatePem, alice.certificatePath] });
    expect(loaded).toEqual([
      expect.stringMatching(/^security.key does not belong to security.certificate \(XX NestjsCeleryTest bob \d+\)/),
      expect.stringMatching(/^security.certStore: certificate XX NestjsCeleryTest expired \d+ expired on/),
      expect.stringMatching(/^security.certStore holds certificate XX NestjsCeleryTest alice \d+ twice/),
    ]);
    expect(problemsOf({ key: alice.keyPath })).toEqual([expect.stringMatching(/key and security.certificate go together/)]);
    expect(problemsOf({ key: alice.keyPath, certificate: alice.certificatePath, signatureFormat: '5.3' })).toEqual([
      "security.signatureFormat must be '5.4' (what Celery up to 5.4 reads) or '5.5' (what Celery 5.5 and later read), got \"5.3\"",
    ]);
    expect(problemsOf({ required: true })).toEqual([expect.stringMatching(/security.required needs security.certStore/)]);
    expect(problemsOf({ key: '/nowhere/key.pem', certificate: alice.certificatePath })).toEqual([
      expect.stringMatching(/^security.key: cannot read the file \/nowhere\/key.pem \(ENOENT\)/),
    ]);
    expect(problemsOf({ key: '-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----', certificate: alice.certificatePath })).toEqual([
      'security.key is not an unencrypted PEM private key (Celery 5.2.6 cannot use a passphrase either)',
    ]);
    expect(problemsOf({ certStore: join(pki.dir, 'none-*.pem') })).toEqual([expect.stringMatching(/no file matches/)]);
    for (const problem of [...problems, ...loaded]) expect(problem).not.toContain('PRIVATE KEY');
  });
});

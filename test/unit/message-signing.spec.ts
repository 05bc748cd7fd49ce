import { createPrivateKey, X509Certificate } from 'node:crypto';
import { MessageSecurityError } from '../../lib/errors/message-security.error';
import { InvalidTaskMessageError } from '../../lib/errors/invalid-task-message.error';
import { AUTH_CONTENT_TYPE, MessageSigner, MessageVerifier, signPayload, SignatureFormat, SignatureRejection, verifyPayload } from '../../lib/protocol/auth-serializer';
import { certificateId } from '../../lib/protocol/certificate-id';
import { decodeTaskMessage } from '../../lib/protocol/decode-task-message';
import { encodeTaskMessage } from '../../lib/protocol/encode-task-message';
import { capturedBody, capturedProperties, loadFixture } from '../support/fixtures';
import { CELERY_PEER, peerSignatureFormat } from '../support/celery-peer';
import { runPython } from '../support/python-celery';
import { INTEROP_PYTHON_DIR } from '../support/python-worker';
import { createTestPki, TestPki, TestSigner } from '../support/test-pki';
import { DeliveredMessage } from '../../lib/broker/broker.interface';
import { MessageAdmission } from '../../lib/worker/message-admission';
import { TaskRegistry } from '../../lib/task/task-registry';
import { WorkerObservers } from '../../lib/worker/worker-observers';

const SEPARATOR = Buffer.from([0, 1]);

function signerOf(material: TestSigner, format: SignatureFormat = '5.4'): MessageSigner {
  return { key: createPrivateKey(material.keyPem), signerId: certificateId(new X509Certificate(material.certificatePem)), digest: 'sha256', format };
}

function verifierOf(...materials: TestSigner[]): MessageVerifier {
  const certificates = new Map(materials.map((material) => {
    const certificate = new X509Certificate(material.certificatePem);
    return [certificateId(certificate), certificate] as const;
  }));
  return { certificates, digest: 'sha256' };
}

function rejection(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, got none');
}

/** Runs the peer Python Celery's own SecureSerializer: `setup` builds `s`, `use` prints what it returns. */
function pythonSerializer(setup: string, use: string): Promise<string> {
  return runPython(`import sys, json, os, shutil, tempfile
import cryptography_compat; cryptography_compat.install()
from celery.security.serialization import SecureSerializer
from celery.security.certificate import Certificate, FSCertStore
from celery.security.key import PrivateKey
${setup}
sys.stdout.write(${use})
`, { pythonPath: [INTEROP_PYTHON_DIR] });
}

// One throwaway PKI for the whole file (openssl key generation is slow): alice is the trusted
// signer of every describe below, mallory a signer no verifier here trusts.
let pki: TestPki;
let alice: TestSigner;
let mallory: TestSigner;
beforeAll(() => {
  pki = createTestPki();
  alice = pki.signer('alice');
  mallory = pki.signer('mallory');
});
afterAll(() => pki?.remove());

describe('certificate ids (Celery Certificate.get_id)', () => {
  it.each([
    ['a plain subject', '/C=XX/O=NestjsCeleryTest/CN=plain'],
    ['RFC 2253 specials, leading space and UTF-8', '/C=XX/O=Capture\\+ "T" <a>;b=c#, x/CN= céle ry\\\\x'],
  ])('match Python for %s', async (_name, subject) => {
    const material = pki.signer(`id-${Math.random().toString(36).slice(2)}`, { subject });
    const python = await runPython(
      `import sys\nfrom celery.security.certificate import Certificate\nsys.stdout.buffer.write(Certificate(open(${JSON.stringify(material.certificatePath)}).read()).get_id().encode())`,
    );
    expect(certificateId(new X509Certificate(material.certificatePem))).toBe(python);
  });
});

describe("Celery's auth serializer", () => {
  it('lays out a payload exactly as the captured Celery 5.2.6 one, apart from signer and signature', () => {
    const captured = loadFixture('task_v2_auth_signed');
    const inner = Buffer.from(captured.decoded.inner_body, 'utf8');
    const theirs = Buffer.from(capturedBody(captured.message).toString('ascii'), 'base64');
    const ours = Buffer.from(signPayload(inner, 'application/json', 'utf-8', signerOf(alice)).toString('ascii'), 'base64');
    const afterSignature = (raw: Buffer) => raw.subarray(raw.indexOf(SEPARATOR) + 2 + 256);
    expect(afterSignature(ours).equals(afterSignature(theirs))).toBe(true);
    expect(theirs.subarray(0, theirs.indexOf(SEPARATOR)).toString()).toBe(captured.decoded.signer);
  });

  it('names the unknown signer of the captured message and refuses it', () => {
    const captured = loadFixture('task_v2_auth_signed');
    const error = rejection(() => decodeTaskMessage(capturedBody(captured.message), capturedProperties(captured.message), {}, { verifier: verifierOf(alice), required: true }));
    expect(error).toBeInstanceOf(MessageSecurityError);
    expect(error.message).toContain(`signed by certificate "${captured.decoded.signer}", which is not in the trusted certificate store`);
    expect((error as MessageSecurityError).taskId).toBe(captured.task_id);
  });

  it(`verifies what ${CELERY_PEER.name} signs, and it verifies what we sign in its format (${peerSignatureFormat()})`, async () => {
    const body = '[[2], {"y": 3}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';
    const pythonSigned = await pythonSerializer(
      `s = SecureSerializer(PrivateKey(open(${JSON.stringify(alice.keyPath)}).read()), Certificate(open(${JSON.stringify(alice.certificatePath)}).read()), None, 'sha256')`,
      `s.serialize(json.loads(${JSON.stringify(body)}))`,
    );
    const verified = verifyPayload(Buffer.from(pythonSigned, 'ascii'), verifierOf(alice));
    expect(verified).toEqual({ contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from(body) });

    const ours = signPayload(Buffer.from(body), 'application/json', 'utf-8', signerOf(alice, peerSignatureFormat())).toString('ascii');
    // A store of alice alone: the other certificates of the test directory are not trusted.
    const python = await pythonSerializer(
      `d = tempfile.mkdtemp(); shutil.copy(${JSON.stringify(alice.certificatePath)}, os.path.join(d, 'alice.pem'))\ns = SecureSerializer(None, None, FSCertStore(d), 'sha256'); shutil.rmtree(d)`,
      `json.dumps(s.deserialize(${JSON.stringify(ours)}))`,
    );
    expect(JSON.parse(python)).toEqual(JSON.parse(body));
  });

  it('refuses a changed body, an untrusted signer, another digest and a truncated payload', () => {
    const body = Buffer.from('[[1], {}, {}]');
    const signed = Buffer.from(signPayload(body, 'application/json', 'utf-8', signerOf(alice)).toString('ascii'), 'base64');
    const changed = Buffer.from(signed);
    changed[changed.length - 11] = '2'.charCodeAt(0); // [[1], … → [[2], …
    const reasons = [
      rejection(() => verifyPayload(Buffer.from(changed.toString('base64')), verifierOf(alice))),
      rejection(() => verifyPayload(signPayload(body, 'application/json', 'utf-8', signerOf(mallory)), verifierOf(alice))),
      rejection(() => verifyPayload(Buffer.from(signed.toString('base64')), { ...verifierOf(alice), digest: 'sha512' })),
      rejection(() => verifyPayload(Buffer.from(signed.subarray(0, 300).toString('base64')), verifierOf(alice))),
      rejection(() => verifyPayload(Buffer.from('[[1], {}, {}]'), verifierOf(alice))),
    ];
    for (const reason of reasons) expect(reason).toBeInstanceOf(SignatureRejection);
    expect(reasons.map((reason) => reason.message)).toEqual([
      expect.stringMatching(/signature does not match its body/),
      expect.stringMatching(/signed by certificate "XX NestjsCeleryTest mallory \d+", which is not in the trusted/),
      expect.stringMatching(/signature does not match its body/),
      expect.stringMatching(/truncated or malformed/),
      expect.stringMatching(/not a signed payload/),
    ]);
  });

  it('cuts the signature by key size, so a signature holding the separator bytes still verifies', () => {
    const body = Buffer.from('[[], {}, {}]');
    const signer = signerOf(alice);
    let payload: Buffer | undefined;
    for (let attempt = 0; attempt < 20_000 && !payload; attempt++) {
      const candidate = signPayload(body, 'application/json', 'utf-8', signer);
      const raw = Buffer.from(candidate.toString('ascii'), 'base64');
      const signature = raw.subarray(raw.indexOf(SEPARATOR) + 2, raw.indexOf(SEPARATOR) + 2 + 256);
      if (signature.includes(SEPARATOR)) payload = candidate;
    }
    expect(payload).toBeDefined();
    expect(verifyPayload(payload!, verifierOf(alice)).body).toEqual(body);
  });

  it("reads Celery 5.5's layout too: signer and signature base64-encoded, split on the separator", () => {
    const body = Buffer.from('[[1], {}, {}]');
    const signed = signPayload(body, 'application/json', 'utf-8', signerOf(alice, '5.5'));
    const raw = Buffer.from(signed.toString('ascii'), 'base64');
    const [signer, signature] = raw.toString('latin1').split('\x00\x01');
    expect(Buffer.from(signer, 'base64').toString()).toBe(signerOf(alice).signerId);
    expect(Buffer.from(signature, 'base64')).toHaveLength(256);
    expect(verifyPayload(signed, verifierOf(alice)).body).toEqual(body);
    expect(rejection(() => verifyPayload(signPayload(body, 'application/json', 'utf-8', signerOf(mallory, '5.5')), verifierOf(alice))).message).toMatch(
      /signed by certificate "XX NestjsCeleryTest mallory \d+", which is not in the trusted/,
    );
    expect(rejection(() => verifyPayload(Buffer.from(raw.subarray(0, raw.indexOf('\x00\x01') + 10).toString('base64')), verifierOf(alice))).message).toMatch(/truncated or malformed/);
  });

  it('works with 4096-bit keys too (512-byte signatures)', () => {
    const big = pki.signer('big', { bits: 4096 });
    const payload = signPayload(Buffer.from('[]'), 'application/json', 'utf-8', signerOf(big));
    expect(verifyPayload(payload, verifierOf(big)).body.toString()).toBe('[]');
  });
});

describe('task messages and signatures', () => {
  const captured = () => loadFixture('task_v2_apply_async_args_kwargs').message;

  it('encodes a signed message that decodes to the same task, with the auth content type', () => {
    const message = decodeTaskMessage(capturedBody(captured()), capturedProperties(captured()));
    const signed = encodeTaskMessage(message, signerOf(alice));
    expect(signed.properties.contentType).toBe(AUTH_CONTENT_TYPE);
    expect(signed.properties.contentEncoding).toBe('utf-8');
    expect(decodeTaskMessage(signed.body, signed.properties, {}, { verifier: verifierOf(alice), required: true })).toEqual(message);
  });

  it('refuses unsigned messages when signatures are required, and signed ones when no certificate is trusted', () => {
    const unsigned = encodeTaskMessage(decodeTaskMessage(capturedBody(captured()), capturedProperties(captured())));
    const signed = encodeTaskMessage(decodeTaskMessage(capturedBody(captured()), capturedProperties(captured())), signerOf(alice));
    const required = rejection(() => decodeTaskMessage(unsigned.body, unsigned.properties, {}, { verifier: verifierOf(alice), required: true }));
    expect(required).toBeInstanceOf(MessageSecurityError);
    expect(required.message).toMatch(/not signed, and this worker accepts signed messages only/);
    const untrusted = rejection(() => decodeTaskMessage(signed.body, signed.properties));
    expect(untrusted).toBeInstanceOf(InvalidTaskMessageError);
    expect(untrusted.message).toMatch(/content type "application\/data" is not accepted: the message is signed .* trusts no certificate/);
    // Signatures optional: both pass.
    expect(decodeTaskMessage(unsigned.body, unsigned.properties, {}, { verifier: verifierOf(alice), required: false }).id).toBe(captured().headers.id);
    expect(decodeTaskMessage(signed.body, signed.properties, {}, { verifier: verifierOf(alice), required: false }).id).toBe(captured().headers.id);
  });

  it('never accepts pickle, not even signed by a trusted signer', () => {
    const policy = { verifier: verifierOf(alice), required: false };
    const pickle = rejection(() => decodeTaskMessage(Buffer.from('gAQ=', 'base64'), { contentType: 'application/x-python-serialize', headers: { id: 'p', task: 't' } }, {}, policy));
    expect(pickle).toBeInstanceOf(InvalidTaskMessageError);
    const signedPickle = signPayload(Buffer.from('gAQ=', 'base64'), 'application/x-python-serialize', 'binary', signerOf(alice));
    const inner = rejection(() => decodeTaskMessage(signedPickle, { contentType: AUTH_CONTENT_TYPE, headers: { id: 'p', task: 't' } }, {}, policy));
    expect(inner).toBeInstanceOf(InvalidTaskMessageError);
    expect(inner.message).toMatch(/signed payload holds content type "application\/x-python-serialize"/);
  });
});

describe('the worker door with signatures required', () => {
  it('refuses an unsigned message with one log line and a reject without requeue, and stores nothing', () => {
    const lines: string[] = [];
    const logger = { log: () => undefined, warn: () => undefined, error: (line: string) => lines.push(line) };
    const rejected: boolean[] = [];
    const admission = new MessageAdmission(new TaskRegistry(), 1_000_000, new WorkerObservers([], undefined, logger), logger, {
      verifier: verifierOf(alice),
      required: true,
    });
    const { properties, body } = encodeTaskMessage(decodeTaskMessage(capturedBody(loadFixture('task_v2_delay_minimal').message), capturedProperties(loadFixture('task_v2_delay_minimal').message)));
    const delivery = { body, properties, deliveryInfo: { queue: 'celery', exchange: '', routingKey: 'celery', redelivered: false }, ack: () => undefined, reject: (requeue: boolean) => rejected.push(requeue) } as unknown as DeliveredMessage;

    // 'untrusted': rejected at the door, never handed to the settlement, so no FAILURE is stored under its unsigned id.
    expect(admission.admit(delivery)).toEqual({ kind: 'untrusted' });
    expect(rejected).toEqual([false]);
    expect(lines).toEqual([expect.stringMatching(/^Rejected task message \S+\[\S+\] from queue celery: it is not signed, and this worker accepts signed messages only/)]);
  });
});

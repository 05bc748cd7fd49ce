import { INestApplicationContext, Injectable } from '@nestjs/common';
import { connect } from 'amqplib';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CeleryClient, CeleryTask, currentTask } from '../../lib';
import { certificateId } from '../../lib/protocol/certificate-id';
import { encodeTaskMessage } from '../../lib/protocol/encode-task-message';
import { TaskMessage } from '../../lib/protocol/task-message';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { createTestPki, TestPki, TestSigner } from '../support/test-pki';
import { CELERY_PEER, peerSignatureFormat } from '../support/celery-peer';

@Injectable()
class SignedTasks {
  readonly runs: string[] = [];
  private flakyCalls = 0;

  @CeleryTask({ name: 'tasks.add' })
  add(x: number, y: number): number {
    this.runs.push(currentTask().id);
    return x + y;
  }

  /** Fails once and retries: the retry message our worker sends must be signed too, or it refuses its own retry. */
  @CeleryTask({ name: 'signing.flaky' })
  flaky(value: string): string {
    this.runs.push(currentTask().id);
    if (this.flakyCalls++ === 0) currentTask().retry({ countdown: 0.1, error: new Error('first attempt') });
    return value.toUpperCase();
  }
}

/**
 * Message signing with Celery's `auth` serializer against real Python Celery 5.2.6 and its
 * `app.setup_security()`: signed in both directions, and what is unsigned, changed after signing
 * or signed by a certificate nobody trusts is refused by our worker, dead-lettered and never run.
 */
describe(`message signing with ${CELERY_PEER.name}`, () => {
  let env: TestEnvironment;
  let pki: TestPki;
  let nest: TestSigner;
  let python: TestSigner;
  let mallory: TestSigner;
  let trusted: string;
  let app: INestApplicationContext;
  let tasks: SignedTasks;
  let worker: PythonWorker | undefined;
  let refusedQueue: string;
  let deadQueue: string;
  let pythonQueue: string;

  beforeAll(async () => {
    env = await createTestEnvironment('it-signing');
    refusedQueue = `${env.queue}-refused`;
    deadQueue = `${env.queue}-dead`;
    pythonQueue = `${env.queue}-py`;
    env.alsoRemove(refusedQueue, deadQueue, pythonQueue);
    pki = createTestPki();
    nest = pki.signer('nest');
    python = pki.signer('python');
    mallory = pki.signer('mallory');
    // The store holds certificates only: Celery's FSCertStore reads every file of a directory.
    trusted = join(pki.dir, 'trusted');
    mkdirSync(trusted);
    copyFileSync(nest.certificatePath, join(trusted, 'nest.pem'));
    copyFileSync(python.certificatePath, join(trusted, 'python.pem'));

    const connection = await connect(RABBITMQ_URL);
    const channel = await connection.createChannel();
    await channel.assertQueue(deadQueue, { durable: false });
    await connection.close();

    app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        backend: env.databaseUrl,
        defaultQueue: env.queue,
        queues: { [refusedQueue]: { deadLetterExchange: '', deadLetterRoutingKey: deadQueue } },
        worker: { queues: [env.queue, refusedQueue] },
        security: { key: nest.keyPath, certificate: nest.certificatePath, certStore: trusted, signatureFormat: peerSignatureFormat() },
      },
      [SignedTasks],
    );
    tasks = app.get(SignedTasks);
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await env?.dispose();
    pki?.remove();
  });

  const pythonSettings = (signer: TestSigner) => ({
    resultBackend: celeryDatabaseUrl(env.databaseUrl),
    defaultQueue: env.queue,
    security: { key: signer.keyPath, certificate: signer.certificatePath, certStore: trusted },
  });

  it('runs a task Python signed with setup_security, and Python reads its result', async () => {
    const outcome = await runInteropClient(
      `
import json
from interop_tasks import app, add
assert app.conf.task_serializer == "auth"
result = add.apply_async((2, 3))
print(json.dumps({"id": result.id, "value": result.get(timeout=30)}))
`,
      pythonSettings(python),
    );
    expect(outcome.value).toBe(5);
    expect(tasks.runs).toContain(outcome.id);
  });

  it('signs what our client sends, and a Python worker with setup_security runs it', async () => {
    worker = await startPythonWorker({ queues: [pythonQueue], ...pythonSettings(python) });
    const client = app.get(CeleryClient);
    const result = await client.send('py.upper', ['signed by nest'], { queue: pythonQueue });
    await expect(result.get({ timeout: 30_000 })).resolves.toBe('SIGNED BY NEST');
    // Not /Refusing/: setup_security turns JSON off process-wide, so the Python worker also refuses
    // unsigned broadcasts (Mingle's hello, control commands) that other test files' workers send on
    // the shared broker. Our message reached its result above, so it was not among them.
    expect(worker.log()).not.toMatch(/SecurityError/);
  });

  it('signs its own retries, so a retried task runs again under required signatures', async () => {
    const result = await app.get(CeleryClient).send('signing.flaky', ['again']);
    await expect(result.get({ timeout: 30_000 })).resolves.toBe('AGAIN');
    expect(tasks.runs.filter((id) => id === result.id)).toHaveLength(2);
  });

  it('refuses unsigned, tampered and untrusted messages: dead-lettered, never run, nothing stored', async () => {
    const message = (id: string): TaskMessage => ({
      id, task: 'tasks.add', args: [1, 1], kwargs: {}, embed: { callbacks: null, errbacks: null, chain: null, chord: null },
      rootId: id, parentId: null, group: null, groupIndex: null, retries: 0, eta: null, expires: null, timeLimit: [null, null],
      shadow: null, origin: 'test', ignoreResult: false, argsrepr: null, kwargsrepr: null, customHeaders: {}, replyTo: null,
      correlationId: id, priority: null,
    });
    const signerOf = (material: TestSigner) => ({
      key: createPrivateKey(material.keyPem), signerId: certificateId(new X509Certificate(material.certificatePem)), digest: 'sha256' as const, format: peerSignatureFormat(),
    });
    const unsigned = encodeTaskMessage(message('unsigned-1'));
    const tampered = encodeTaskMessage(message('tampered-1'), signerOf(nest));
    // The signed JSON changed after signing: [[1, 1], …] becomes [[9, 1], …].
    const raw = Buffer.from(tampered.body.toString('ascii'), 'base64');
    raw[raw.lastIndexOf('[[1, 1]') + 2] = '9'.charCodeAt(0);
    tampered.body = Buffer.from(raw.toString('base64'), 'ascii');
    const untrusted = encodeTaskMessage(message('untrusted-1'), signerOf(mallory));
    const ids = ['unsigned-1', 'tampered-1', 'untrusted-1'];

    const connection = await connect(RABBITMQ_URL);
    const channel = await connection.createConfirmChannel();
    for (const { properties, body } of [unsigned, tampered, untrusted]) {
      channel.publish('', refusedQueue, body, { ...properties, headers: properties.headers });
    }
    await channel.waitForConfirms();
    // And one from Python, signed with a key whose certificate our worker does not trust.
    await runInteropClient(
      `
import json
from kombu import Exchange, Queue
from interop_tasks import app, add
queue = Queue(${JSON.stringify(refusedQueue)}, Exchange(${JSON.stringify(refusedQueue)}, "direct"), routing_key=${JSON.stringify(refusedQueue)},
              queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": ${JSON.stringify(deadQueue)}})
result = add.apply_async((4, 4), queue=queue, task_id="untrusted-python-1")
print(json.dumps(result.id))
`,
      pythonSettings(mallory),
    );
    ids.push('untrusted-python-1');

    const dead = await eventually(async () => {
      const { messageCount } = await channel.checkQueue(deadQueue);
      return messageCount >= ids.length ? messageCount : undefined;
    }, 30_000, `${ids.length} dead-lettered messages`);
    expect(dead).toBe(ids.length);
    const deadIds: string[] = [];
    for (let index = 0; index < ids.length; index++) {
      const got = await channel.get(deadQueue, { noAck: true });
      if (got) deadIds.push(String(got.properties.headers?.id));
    }
    await connection.close();
    expect(deadIds.sort()).toEqual([...ids].sort());
    for (const id of ids) {
      expect(tasks.runs).not.toContain(id);
      await expect(app.get(CeleryClient).asyncResult(id).state()).resolves.toBe('PENDING');
    }
  });
});

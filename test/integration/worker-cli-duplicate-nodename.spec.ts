import { hostname } from 'node:os';
import { join } from 'node:path';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const CLI = join(ROOT, 'bin', 'nestjs-celery-worker');
const PLAIN_MODULE = join('test', 'support', 'plain-worker-module.js');
/** kombu's W_PIDBOX_IN_USE, which Celery 5.2.6 prints at a worker's start when a live node has its name. */
const IN_USE = (node: string) =>
  `A node named ${node} is already using this process mailbox!\n\n` +
  'Maybe you forgot to shutdown the other node or did not do so properly?\n' +
  'Or if you meant to start multiple nodes on the same host please make sure\n' +
  'you give each node a unique node name!';

/** Two live workers under one node name: the one that starts second is told, as Celery tells it. */
describe('a worker starting under a node name already in use', () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('it-dupnode');
  });

  afterAll(async () => {
    await env?.dispose();
  });

  /** Our worker CLI, at -l info so that Mingle's lines show, under node name `name@%h`. */
  function startOurs(name: string): SampleProcess {
    return startNodeProcess([CLI, '--module', PLAIN_MODULE, '--export', 'PlainWorkerModule', '-Q', env.queue, '-n', `${name}@%h`, '-l', 'info'], {
      PLAIN_BROKER_URL: RABBITMQ_URL,
      PLAIN_RESULT_BACKEND: env.databaseUrl,
    });
  }

  async function stop(worker: SampleProcess): Promise<void> {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }

  it('warns the second of two of our workers, not the first, and each still runs', async () => {
    const name = `dup-${env.queue}`;
    const node = `${name}@${hostname()}`;
    const first = startOurs(name);
    try {
      await first.waitForOutput(/consuming/);
      // Other workers on the shared broker (parallel test files) may answer the hello too: only our name matters.
      expect(first.output()).toMatch(/mingle: (all alone|sync with \d+ nodes)/);
      expect(first.output()).not.toContain('already using this process mailbox');
      const second = startOurs(name);
      try {
        await second.waitForOutput(/consuming/);
        expect(second.output()).toContain(`WARN [Celery] ${IN_USE(node)}`);
        expect(second.output().indexOf('already using')).toBeLessThan(second.output().indexOf('consuming'));
        // The first answered the hello under the second's own name (nothing to sync from it), and is not warned.
        expect(second.output()).toMatch(/mingle: (all alone|sync with \d+ nodes)/);
        expect(first.output()).not.toContain('already using this process mailbox');
      } finally {
        await stop(second);
      }
    } finally {
      await stop(first);
    }
  }, 60_000);

  it('warns our worker when a Python Celery worker runs under its name, and a Python worker starting under ours gets the same warning from kombu', async () => {
    const name = `dup-py-${env.queue}`;
    const node = `${name}@${hostname()}`;
    env.alsoRemove(`${env.queue}-py`);
    const python = await startPythonWorker({ queues: [`${env.queue}-py`], resultBackend: 'rpc://', nodename: `${name}@%h` });
    try {
      expect(python.nodename).toBe(node);
      const ours = startOurs(name);
      try {
        await ours.waitForOutput(/consuming/);
        expect(ours.output()).toContain(`WARN [Celery] ${IN_USE(node)}`);
      } finally {
        await stop(ours);
      }
    } finally {
      await python.stop();
    }

    // The other way round: ours first, then Python's own check (kombu finds our consumer on the mailbox queue).
    const ours = startOurs(name);
    try {
      await ours.waitForOutput(/consuming/);
      const late = await startPythonWorker({ queues: [`${env.queue}-py`], resultBackend: 'rpc://', nodename: `${name}@%h` });
      try {
        expect(late.log()).toContain(IN_USE(node));
      } finally {
        await late.stop();
      }
      expect(ours.output()).not.toContain('already using this process mailbox');
    } finally {
      await stop(ours);
    }
  }, 90_000);
});

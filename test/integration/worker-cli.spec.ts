import { INestApplicationContext } from '@nestjs/common';
import { join } from 'node:path';
import { CeleryClient } from '../../lib';
import { ROOT, startNodeProcess } from '../support/built-app';
import { startCeleryApp } from '../support/celery-app';
import { deleteExchanges, deleteQueues, RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const CLI = join(ROOT, 'bin', 'nestjs-celery-worker');
const SAMPLE_WORKER = ['--module', 'dist/sample-app/src/worker.module.js', '--export', 'WorkerModule'];

/** The worker CLI against the compiled sample app (dist/, built by the global setup). */
describe('nestjs-celery-worker', () => {
  it('exits 2 with the usage on bad usage', async () => {
    for (const args of [[], [...SAMPLE_WORKER, '-c', 'many'], [...SAMPLE_WORKER, '--pool', 'prefork'], [...SAMPLE_WORKER, '--loglevel', 'loud']]) {
      const cli = startNodeProcess([CLI, ...args], {});
      expect(await cli.exited).toBe(2);
      expect(cli.output()).toContain('Usage: nestjs-celery-worker --module');
    }
  });

  it('exits 1 with the reason when the worker cannot start', async () => {
    const missing = startNodeProcess([CLI, '--module', 'dist/no-such-module.js'], {});
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/cannot start: module file .*no-such-module\.js does not exist/);

    const badBroker = startNodeProcess([CLI, ...SAMPLE_WORKER], { CELERY_BROKER_URL: 'zmq://127.0.0.1:6379' });
    expect(await badBroker.exited).toBe(1);
    expect(badBroker.output()).toMatch(/cannot start: Unsupported broker URL "zmq:\/\/127\.0\.0\.1:6379"/);
  });

  describe('running the sample worker', () => {
    let env: TestEnvironment;
    let producer: INestApplicationContext;

    beforeAll(async () => {
      env = await createTestEnvironment('it-cli');
      producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    });

    afterAll(async () => {
      await producer?.close();
      await deleteQueues(`${env.queue}-other`);
      await deleteExchanges(`${env.queue}-other`);
      await env?.dispose();
    });

    it("maps -Q -c -n -E --loglevel to the worker, logs Celery's lines per task at info, and exits 0 on SIGTERM", async () => {
      const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-Q', `${env.queue},${env.queue}-other`, '-c', '3', '-n', 'cli-test@%h', '-E', '--loglevel', 'info'], {
        CELERY_BROKER_URL: RABBITMQ_URL,
        CELERY_RESULT_BACKEND: env.databaseUrl,
      });
      try {
        await cli.waitForOutput(new RegExp(`Worker cli-test@\\S+ consuming ${env.queue}, ${env.queue}-other .*\\(concurrency 3,`));
        const celery = producer.get(CeleryClient);
        const sum = await celery.send('tasks.add', [20, 22]);
        expect(await sum.get({ timeout: 10_000 })).toBe(42);
        const failed = await celery.send('tasks.fail', ['on purpose']);
        await failed.get({ timeout: 10_000, propagate: false });
        await cli.waitForOutput(new RegExp(`Task tasks\\.add\\[${sum.id}\\] succeeded in \\d[\\d.e-]*s: 42`));
        // A failure is Celery's ERROR line, with the exception type.
        await cli.waitForOutput(new RegExp(`ERROR \\[Celery\\] Task tasks\\.fail\\[${failed.id}\\] raised: Error: on purpose`));
        cli.child.kill('SIGTERM');
        expect(await cli.exited).toBe(0);
        expect(cli.output()).toContain('warm shutdown');
      } finally {
        cli.child.kill('SIGKILL');
      }
    });

    it('logs no task lines at --loglevel warning', async () => {
      const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-Q', env.queue, '--loglevel', 'warning'], {
        CELERY_BROKER_URL: RABBITMQ_URL,
        CELERY_RESULT_BACKEND: env.databaseUrl,
      });
      try {
        const result = await producer.get(CeleryClient).send('tasks.add', [1, 2]);
        expect(await result.get({ timeout: 20_000 })).toBe(3);
        cli.child.kill('SIGINT');
        expect(await cli.exited).toBe(0);
        expect(cli.output()).not.toContain(`Task tasks.add[${result.id}]`);
        expect(cli.output()).not.toContain('consuming');
      } finally {
        cli.child.kill('SIGKILL');
      }
    });
  });
});

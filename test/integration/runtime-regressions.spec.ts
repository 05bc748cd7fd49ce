import { INestApplicationContext, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { CeleryClient, CeleryTask, chord, currentTask, OnTaskSignal, signature } from '../../lib';
import type { TaskSignal } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL, uniqueName, deleteQueues } from '../support/rabbitmq';
import { redisClient, redisUrl } from '../support/redis';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * Regressions of issue #13 on the real services, each failing on the code before one runtime
 * and one settlement path: the fast branch-by-branch suite is test/unit/worker-pipeline.spec.ts.
 */

/** Messages ready and consumers of a queue, by a passive declare. */
async function queueState(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    const { messageCount, consumerCount } = await channel.checkQueue(queue);
    return { messageCount, consumerCount };
  } finally {
    await connection.close();
  }
}

const failures: TaskSignal[] = [];
const errbacks: string[] = [];

@Injectable()
class RegressionTasks {
  @CeleryTask({ name: 'rt.ok' })
  ok(): string {
    return 'ok';
  }

  @CeleryTask({ name: 'rt.errback' })
  errback(failedId: string): void {
    errbacks.push(failedId);
  }

  @CeleryTask({ name: 'rt.body' })
  body(results: unknown[]): unknown[] {
    return results;
  }

  @CeleryTask({ name: 'rt.bounce' })
  bounce(): never {
    return currentTask().retry({ countdown: 0, queue: `no-such-queue-${randomUUID()}` });
  }

  @CeleryTask({ name: 'rt.tenant' })
  tenant(): unknown {
    const { retries, headers } = currentTask();
    if (retries === 0) currentTask().retry({ countdown: 0 });
    return { retries, tenant: headers['x-tenant'] ?? null };
  }

  @OnTaskSignal('failure')
  failed(signal: TaskSignal): void {
    failures.push(signal);
  }
}

describe('one runtime, one settlement path, on RabbitMQ and PostgreSQL', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-runtime');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 4 } }, [RegressionTasks]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('a refused message (a task nobody here has) still sends its errback and completes its chord', async () => {
    const orphan = await celery.send('rt.nobody-has-this', [], { linkError: signature('rt.errback') });
    await expect(orphan.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'NotRegistered' });
    await eventually(() => (errbacks.includes(orphan.id) ? true : undefined), 10_000, 'the errback');

    const body = await chord([celery.signature('rt.ok'), signature('rt.unknown-in-header')], signature('rt.body')).applyAsync();
    await expect(body.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'ChordError' });
  });

  it('a retry that cannot be republished is stored FAILURE and the failure signal is sent, not RETRY', async () => {
    const result = await celery.send('rt.bounce', []);
    await expect(result.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'PublishError' });
    await eventually(() => (failures.some((signal) => signal.task.id === result.id) ? true : undefined), 10_000, 'the failure signal');
  });

  it("a retry keeps the producer's headers: a Python client's header reaches the second try", async () => {
    const output = await runPython(
      `
import json
from celery import Celery
app = Celery(broker=${JSON.stringify(RABBITMQ_URL)}, backend=${JSON.stringify(celeryDatabaseUrl(env.databaseUrl))})
result = app.send_task('rt.tenant', queue=${JSON.stringify(env.queue)}, headers={'x-tenant': 'acme'})
print(json.dumps(result.get(timeout=15)))
`,
    );
    expect(JSON.parse(output)).toEqual({ retries: 1, tenant: 'acme' });
  });
});

describe('a producer-only app beside Python workers', () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('it-producer-only');
  });

  afterAll(async () => {
    await env?.dispose();
  });

  it('never consumes the shared queue, though its worker options are on: a Python-bound message stays untouched', async () => {
    // CeleryModule with a worker section but no @CeleryTask() of its own, as an API process has.
    const api = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 2 } });
    try {
      const sent = await api.get(CeleryClient).send('py.upper', ['for python']);
      expect(await queueState(env.queue)).toEqual({ messageCount: 1, consumerCount: 0 });
      // Nothing was stored for it (the old module stored FAILURE NotRegistered for Python's tasks).
      expect(await api.get(CeleryClient).asyncResult(sent.id).state()).toBe('PENDING');
    } finally {
      await api.close();
    }
  });
});

describe('capabilities, not classes: the duplicate-delivery guard on Redis', () => {
  const DB = 11;
  const queue = uniqueName('it-guard-redis');
  let runs = 0;

  @Injectable()
  class GuardedTasks {
    @CeleryTask({ name: 'rt.guarded', skipIfSucceeded: true })
    guarded(): number {
      return ++runs;
    }
  }

  afterAll(async () => {
    const redis = await redisClient(DB);
    await redis.flushdb();
    redis.disconnect();
    await deleteQueues(queue);
  });

  it('runs a task id once though it is delivered twice (the Redis backend can be read back)', async () => {
    const app = await startCeleryApp({ broker: RABBITMQ_URL, backend: redisUrl(DB), defaultQueue: queue }, [GuardedTasks]);
    let closed = false;
    try {
      const celery = app.get(CeleryClient);
      const taskId = randomUUID();
      expect(await (await celery.send('rt.guarded', [], { taskId })).get({ timeout: 10_000 })).toBe(1);
      await celery.send('rt.guarded', [], { taskId });
      await eventually(async () => ((await queueState(queue)).messageCount === 0 ? true : undefined), 10_000, 'the duplicate to be delivered');
      // Closing waits for the guard's look-up and its ack: a duplicate handed back would be ready again.
      await app.close();
      closed = true;
      expect(runs).toBe(1);
      expect(await queueState(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    } finally {
      if (!closed) await app.close();
    }
  });
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { CeleryClient, CeleryTask, CeleryWorker, currentTask } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker, withoutWakeUpErrors } from '../support/python-worker';
import { deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { queueCounts } from '../support/rabbitmq-inspection';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER, peerIsAtLeast } from '../support/celery-peer';

@Injectable()
class ParkedTasks {
  readonly ranAt = new Map<string, number>();
  private readonly attempts = new Map<string, number>();

  @CeleryTask({ name: 'park.mark' })
  mark(key: string): string {
    this.ranAt.set(key, Date.now());
    return `ran ${key}`;
  }

  @CeleryTask({ name: 'park.retryOnce' })
  retryOnce(key: string): string {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    if (attempt === 1) currentTask().retry({ countdown: 0.2 });
    return `${key} after ${attempt} attempts`;
  }

  /** When it ran and how it was routed to its queue, for the delayed-delivery checks. */
  @CeleryTask({ name: 'park.route' })
  route(): { ranAt: number; exchange: string; routingKey: string } {
    const { exchange, routingKey } = currentTask().deliveryInfo;
    return { ranAt: Date.now(), exchange, routingKey };
  }

  /** The name Python's interop_tasks.py knows too. */
  @CeleryTask({ name: 'tasks.add' })
  add(x: number, y: number): number {
    return x + y;
  }
}

/** One row of celery_taskmeta, as any Celery reads it. */
async function resultRow(databaseUrl: string, taskId: string): Promise<{ queue: string | null; worker: string | null; retries: number | null }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT queue, worker, retries FROM celery_taskmeta WHERE task_id = $1', [taskId]);
    return rows[0];
  } finally {
    await client.end();
  }
}

/** Ready plus unacknowledged messages of one queue, as RabbitMQ counts them. */
async function messagesIn(queue: string): Promise<number> {
  const counts = (await queueCounts()).get(queue);
  return counts ? counts.ready + counts.unacknowledged : 0;
}

/**
 * Far-ETA tasks parked in Celery 5.5's delay queues (celery_delayed_0…27) on the real RabbitMQ,
 * with the threshold lowered to 1 s so short ETAs exercise the whole way there and back.
 * RabbitMQ's consumer_timeout itself is shown in test/serial/consumer-timeout.spec.ts.
 */
describe('ETA parking on RabbitMQ', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let worker: CeleryWorker;

  beforeAll(async () => {
    // Delay queues left by an earlier run may be of the other type (or, as quorum queues, hold
    // tasks whose queue is gone): start from none; only this file parks tasks in the parallel run.
    await deleteQueues(...Array.from({ length: 28 }, (_, level) => `celery_delayed_${level}`));
    env = await createTestEnvironment('it-eta-park');
    app = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 1, etaParkThresholdSeconds: 1 } },
      [ParkedTasks],
    );
    celery = app.get(CeleryClient);
    worker = app.get(CeleryWorker);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose(); // the 90 s tasks come back to a deleted queue, and RabbitMQ drops them
  });

  it('holds no prefetch slot and no unacked message for parked tasks: the next task runs, the queue is empty', async () => {
    const far = await Promise.all([1, 2, 3, 4, 5].map((index) => celery.send('park.mark', [`far-${index}`], { countdown: 90 })));
    // 89 or 90 s: both start in level 6 (64 s), where RabbitMQ counts them.
    await eventually(async () => (((await queueCounts()).get('celery_delayed_6')?.ready ?? 0) >= 5 ? true : undefined), 10_000, 'five tasks in celery_delayed_6');
    const now = await celery.send('park.mark', ['now']);
    expect(await now.get({ timeout: 10_000 })).toBe('ran now');
    expect(worker.scheduledTasks()).toEqual([]);
    expect(worker.prefetchCount).toBe(4); // concurrency 1 × multiplier 4: never widened for a held task
    expect((await queueCounts()).get(env.queue)).toEqual({ ready: 0, unacknowledged: 0 });
    expect(await Promise.all(far.map((result) => result.state()))).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING', 'PENDING']);
  });

  it('parks far-ETA tasks already waiting when a worker starts: it consumes before the delay levels are declared, and they wait for them', async () => {
    const queue = uniqueName('it-eta-park-early');
    const waiting = await Promise.all([1, 2, 3].map((index) => celery.send('park.mark', [`early-${index}`], { countdown: 90, queue })));
    const late = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: queue, worker: { concurrency: 1, etaParkThresholdSeconds: 1 } },
      [ParkedTasks],
    );
    try {
      // Held instead, they would stay unacked in their queue and be listed as scheduled.
      await eventually(async () => (messagesIn(queue).then((count) => (count === 0 ? true : undefined))), 10_000, `the early tasks parked out of ${queue}`);
      expect(late.get(CeleryWorker).scheduledTasks()).toEqual([]);
      expect(await Promise.all(waiting.map((result) => result.state()))).toEqual(['PENDING', 'PENDING', 'PENDING']);
    } finally {
      await late.close();
      await deleteQueues(queue);
    }
  });

  it('brings a parked task back to run at its eta, with its result stored under the queue name', async () => {
    const sentAt = Date.now();
    const result = await celery.send('park.mark', ['soon'], { countdown: 6 });
    // Acked and gone from its queue (rabbitmqctl takes about a second), and not held here.
    await eventually(async () => ((await messagesIn(env.queue)) === 0 ? true : undefined), 4_000, 'the task to leave its queue');
    expect(worker.scheduledTasks().map((task) => task.id)).not.toContain(result.id);
    expect(await result.get({ timeout: 10_000 })).toBe('ran soon');
    const tasks = app.get(ParkedTasks);
    expect(tasks.ranAt.get('soon')!).toBeGreaterThanOrEqual(sentAt + 6_000);
    expect(tasks.ranAt.get('soon')! - sentAt).toBeLessThan(7_500);
    expect(await resultRow(env.databaseUrl, result.id)).toMatchObject({ queue: env.queue });
  });

  it('retries a task that came back from the delay queues into its own queue', async () => {
    const result = await celery.send('park.retryOnce', ['retried'], { countdown: 2 });
    expect(await result.get({ timeout: 10_000 })).toBe('retried after 2 attempts');
    expect(await resultRow(env.databaseUrl, result.id)).toMatchObject({ queue: env.queue, retries: 1 });
  });
});

/**
 * A Python Celery 5.2.6 worker on the same queue meets the parked task when it comes back: a
 * routing key with 28 more words, an x-death header, a celery_delayed_* exchange. It runs it.
 */
describe(`a parked task that a ${CELERY_PEER.name} worker receives when it comes back`, () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let python: PythonWorker | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-eta-park-py');
    // Ours first: it creates Celery's tables, which the Python worker's result needs.
    app = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { etaParkThresholdSeconds: 1 } },
      [ParkedTasks],
    );
  });

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it('runs it at its eta, like any other task', async () => {
    const celery = app.get(CeleryClient);
    const sentAt = Date.now();
    const result = await celery.send('tasks.add', [2, 3], { countdown: 12 });
    await eventually(async () => ((await messagesIn(env.queue)) === 0 && app.get(CeleryWorker).processedCount === 0 ? true : undefined), 5_000, 'the task to be parked');
    await app.get(CeleryWorker).stop(); // from now on only the Python worker consumes the queue
    python = await startPythonWorker({ queues: [env.queue], resultBackend: celeryDatabaseUrl(env.databaseUrl), resultExtended: true });
    expect(await result.get({ timeout: 20_000 })).toBe(5);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(12_000);
    expect((await resultRow(env.databaseUrl, result.id)).worker).toBe(python.nodename);
    expect(withoutWakeUpErrors(python.log())).not.toMatch(/Traceback|Received invalid task message|PRECONDITION_FAILED/);
  }, 60_000);
});

/**
 * Countdowns both ways between our worker and the peer Celery on quorum queues behind topic
 * exchanges, the set-up in which Celery 5.5+ uses native delayed delivery: its client publishes
 * a countdown to celery_delayed_27 with the delay in the routing key, and the task comes back
 * through celery_delayed_delivery to every queue bound with `#.<queue>` — ours, bound by our
 * worker as Celery's DelayedDelivery bootstep binds its own. Celery 5.2 publishes straight to the
 * queue, on classic queues (it knows no queue type, and its global QoS is refused on quorum
 * queues). Either way the task runs on time. Delay levels are classic on both sides, as in the
 * describes above (this file alone parks tasks in a parallel run).
 */
describe(`countdowns with ${CELERY_PEER.name} on ${peerIsAtLeast('5.5') ? 'quorum queues (native delayed delivery)' : 'classic queues'}`, () => {
  const nativeDelayedDelivery = peerIsAtLeast('5.5');
  const queueType = nativeDelayedDelivery ? 'quorum' : 'classic';
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let python: PythonWorker;
  const pythonQueue = uniqueName('it-eta-quorum-py');

  beforeAll(async () => {
    env = await createTestEnvironment('it-eta-quorum');
    env.alsoRemove(pythonQueue);
    app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        backend: env.databaseUrl,
        defaultQueue: env.queue,
        queues: { [env.queue]: { queueType, exchangeType: 'topic' }, [pythonQueue]: { queueType, exchangeType: 'topic' } },
        worker: { etaParkThresholdSeconds: 1 },
      },
      [ParkedTasks],
    );
    python = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl), quorumQueues: true, defaultQueue: pythonQueue, resultExtended: true });
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it('runs on time on our worker a countdown the Python client sends', async () => {
    const sent = await runInteropClient<{ id: string; sentAt: number }>(
      `import json, time
from interop_tasks import app
sent_at = time.time()
result = app.send_task('park.route', countdown=3, queue=${JSON.stringify(env.queue)})
print(json.dumps({'id': result.id, 'sentAt': sent_at * 1000}))`,
      { resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: env.queue, quorumQueues: true },
    );
    const ran = (await app.get(CeleryClient).asyncResult(sent.id).get({ timeout: 20_000 })) as { ranAt: number; exchange: string; routingKey: string };
    expect(ran.ranAt - sent.sentAt).toBeGreaterThanOrEqual(3_000 - 50);
    expect(ran.ranAt - sent.sentAt).toBeLessThan(6_000);
    if (nativeDelayedDelivery) {
      // 3 s in 28 bits, one word each, then the queue's own routing key.
      expect(ran).toMatchObject({ exchange: 'celery_delayed_delivery', routingKey: `${'0.'.repeat(26)}1.1.${env.queue}` });
    } else {
      // Published to the queue; our worker parked it (threshold 1 s here) for the seconds then left.
      expect(ran.routingKey).toMatch(new RegExp(`^([01]\\.){28}${env.queue}$`));
    }
  }, 40_000);

  it('runs on time on the Python worker a countdown our client sends to its queue', async () => {
    const sentAt = Date.now();
    const result = await app.get(CeleryClient).send('tasks.add', [20, 22], { queue: pythonQueue, countdown: 3 });
    expect(await result.get({ timeout: 20_000 })).toBe(42);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3_000);
    expect((await resultRow(env.databaseUrl, result.id)).worker).toBe(python.nodename);
    expect(withoutWakeUpErrors(python.log())).not.toMatch(/Traceback|PRECONDITION_FAILED|Failed to setup delayed delivery/);
  }, 40_000);
});

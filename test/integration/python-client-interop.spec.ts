import { INestApplicationContext, Injectable } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from 'amqplib';
import { CeleryTask, CeleryWorker } from '../../lib';
import { AppModule } from '../../sample-app/src/app.module';
import { eventually, startCeleryApp } from '../support/celery-app';
import { runInteropClient } from '../support/python-worker';
import { deleteExchanges, deleteQueues, RABBITMQ_URL } from '../support/rabbitmq';
import { databaseChannel, RPC_CHANNEL } from '../support/result-channels';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

/**
 * Python → Nest: a real Python Celery 5.2.6 client calls the sample app's tasks with
 * `apply_async` and its scheduling options (countdown, eta, expires, priority, queue), and its own
 * `AsyncResult.get()` returns what our worker computed, or raises what our worker stored.
 */
describe(`the sample-app worker and a ${CELERY_PEER.name} client`, () => {
  let env: TestEnvironment;
  const extraQueues: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-pyclient');
  });

  afterAll(async () => {
    await deleteQueues(...extraQueues);
    await deleteExchanges(...extraQueues);
    await env?.dispose();
  });

  /** A queue of this file's own, removed in afterAll. */
  function extraQueue(purpose: string): string {
    const queue = `${env.queue}-${purpose}`;
    extraQueues.push(queue);
    return queue;
  }

  describe.each([
    ['the database tables', databaseChannel()],
    ['rpc:// replies', RPC_CHANNEL],
  ])('results through %s', (_label, channel) => {
    let app: INestApplicationContext;
    let queue: string;
    let customQueue: string;

    beforeAll(async () => {
      queue = extraQueue(`main-${extraQueues.length}`);
      customQueue = extraQueue(`custom-${extraQueues.length}`);
      const settings = {
        CELERY_BROKER_URL: RABBITMQ_URL,
        CELERY_RESULT_BACKEND: channel.ours(env),
        CELERY_QUEUES: `${queue},${customQueue}`,
        CELERY_CONCURRENCY: '4',
      };
      app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, settings), { logger: process.env.TEST_LOGS ? undefined : false, abortOnError: false });
      await app.init();
    });

    afterAll(async () => {
      await app?.close();
    });

    it('runs apply_async calls with countdown, eta, a future expires and a custom queue, and Python gets each result', async () => {
      const outcomes = await runInteropClient(
        `
import json, time
from datetime import datetime, timedelta, timezone
from interop_tasks import add, mul, xsum, echo, fail

def outcome(started, result):
    try:
        value = result.get(timeout=20)
    except Exception as error:
        return {"raised": [type(error).__name__, str(error)], "exception": isinstance(error, Exception), "state": result.state}
    return {"value": value, "elapsed": time.monotonic() - started, "state": result.state}

sent = {
    "countdown": (time.monotonic(), add.apply_async((1, 2), countdown=1.5)),
    "eta": (time.monotonic(), mul.apply_async((3, 4), eta=datetime.now(timezone.utc) + timedelta(seconds=1.5))),
    "expires": (time.monotonic(), xsum.apply_async(([1, 2, 3.5],), expires=60)),
    "queue": (time.monotonic(), echo.apply_async(({"to": "custom"},), queue=${JSON.stringify(customQueue)})),
    "fail": (time.monotonic(), fail.apply_async(("from python",))),
}
print(json.dumps({name: outcome(*call) for name, call in sent.items()}))
`,
        { resultBackend: channel.theirs(env), defaultQueue: queue },
      );
      expect(outcomes).toEqual({
        countdown: { value: 3, elapsed: expect.any(Number), state: 'SUCCESS' },
        eta: { value: 12, elapsed: expect.any(Number), state: 'SUCCESS' },
        expires: { value: 6.5, elapsed: expect.any(Number), state: 'SUCCESS' },
        queue: { value: { to: 'custom' }, elapsed: expect.any(Number), state: 'SUCCESS' },
        // Our worker stores a plain JS Error as Python's own Exception (python-exception-classes.ts).
        fail: { raised: ['Exception', 'from python'], exception: true, state: 'FAILURE' },
      });
      // Held until the ETA, not run on receipt (the results come back after it, never before).
      expect(outcomes.countdown.elapsed).toBeGreaterThanOrEqual(1.5);
      expect(outcomes.eta.elapsed).toBeGreaterThanOrEqual(1.5);
    });

    it('does not run a task whose expires has passed: Python gets TaskRevokedError("expired")', async () => {
      // Celery 5.2.6 sends a past `expires` as is, with AMQP expiration 0 (it logs a warning):
      // RabbitMQ delivers it only because our idle worker can take it at once, and the worker,
      // seeing the expiry has passed, stores REVOKED as a Python worker would.
      const outcome = await runInteropClient(
        `
import json
from datetime import datetime, timedelta, timezone
from interop_tasks import add
result = add.apply_async((1, 1), expires=datetime.now(timezone.utc) - timedelta(minutes=1))
try:
    outcome = {"value": result.get(timeout=20)}
except Exception as error:
    outcome = {"raised": [type(error).__module__, type(error).__name__, str(error)]}
outcome["state"] = result.state
print(json.dumps(outcome))
`,
        { resultBackend: channel.theirs(env), defaultQueue: queue },
      );
      expect(outcome).toEqual({ raised: ['celery.exceptions', 'TaskRevokedError', 'expired'], state: 'REVOKED' });
    });

    describe('priority', () => {
      /** Records the order tasks run in, on a worker that runs one at a time. */
      @Injectable()
      class ExecutionOrder {
        readonly labels: string[] = [];

        @CeleryTask({ name: 'interop.record' })
        record(label: string): string {
          this.labels.push(label);
          return label;
        }
      }

      let priorityApp: INestApplicationContext;
      let priorityQueue: string;

      beforeAll(async () => {
        priorityQueue = extraQueue(`priority-${extraQueues.length}`);
        // x-max-priority 10 here and Python's task_queue_max_priority = 10: identical
        // declarations, so neither side gets PRECONDITION_FAILED.
        priorityApp = await startCeleryApp(
          {
            broker: RABBITMQ_URL,
            backend: channel.ours(env),
            defaultQueue: priorityQueue,
            queues: { [priorityQueue]: { maxPriority: 10 } },
            worker: { queues: [priorityQueue], concurrency: 1, autoStart: false },
          },
          [ExecutionOrder],
        );
      });

      afterAll(async () => {
        await priorityApp?.close();
      });

      it('takes the highest priority first from a queue declared with x-max-priority on both sides', async () => {
        const client = runInteropClient(
          `
import json
from interop_tasks import app
record = app.signature("interop.record")
results = [record.clone(("low-%d" % n,)).apply_async(priority=1) for n in range(1, 6)]
results.append(record.clone(("high",)).apply_async(priority=9))
print(json.dumps([result.get(timeout=20) for result in results]))
`,
          { resultBackend: channel.theirs(env), defaultQueue: priorityQueue, maxPriority: 10 },
        );
        // The worker starts only once all six wait in the queue, so the broker picks the order.
        await eventually(async () => ((await queuedMessages(priorityQueue)) === 6 ? true : undefined), 20_000, 'six queued messages');
        await priorityApp.get(CeleryWorker).start();
        expect(await client).toEqual(['low-1', 'low-2', 'low-3', 'low-4', 'low-5', 'high']);
        expect(priorityApp.get(ExecutionOrder).labels).toEqual(['high', 'low-1', 'low-2', 'low-3', 'low-4', 'low-5']);
      });
    });
  });
});

/** Messages ready in a queue; 0 while it does not exist yet. */
async function queuedMessages(queue: string): Promise<number> {
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // a missing queue closes the channel: that is the answer
    return (await channel.checkQueue(queue)).messageCount;
  } catch {
    return 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { startSampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { QueueCounts, queueCounts } from '../support/rabbitmq-inspection';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * How long the killed task sleeps: far longer than the checks made before the kill, so it is
 * still running when killed even on a loaded machine (each `rabbitmqctl` call starts an Erlang
 * VM: about 0.6 s idle, seconds under load). The survivor runs it again with acksLate.
 */
const TASK_SECONDS = 8;

/**
 * A worker process killed with SIGKILL in the middle of a task: with acksLate its message goes
 * back to the queue and another worker completes it; without, the task is gone (at most once).
 */
describe('a worker killed mid-task', () => {
  let env: TestEnvironment;
  let producer: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-crash');
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    celery = producer.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    await env?.dispose();
  });

  /**
   * An in-process sample worker on the same queue, to pick up what the dead one left. One slot:
   * it runs what it receives in queue order, so a task sent after the kill finishes after
   * anything the dead worker left in the queue.
   */
  function startSurvivor(): Promise<INestApplicationContext> {
    const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_CONCURRENCY: '1' };
    return startCeleryApp(celeryOptionsFromEnvironment(settings, { worker: true }), [], [TasksModule]);
  }

  /** Waits until RabbitMQ itself reports these counts for the test's queue (not what a client believes). */
  function untilBrokerHolds(expected: QueueCounts, what: string): Promise<QueueCounts> {
    return eventually(async () => {
      const counts = (await queueCounts()).get(env.queue);
      return counts?.ready === expected.ready && counts.unacknowledged === expected.unacknowledged ? counts : undefined;
    }, 20_000, `${what} (RabbitMQ reporting ${JSON.stringify(expected)} for the queue)`);
  }

  async function killWorkerDuring(acksLate: boolean): Promise<string> {
    const worker = startSampleProcess('main-worker', {
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
      CELERY_QUEUES: env.queue,
      CELERY_TASK_ACKS_LATE: String(acksLate),
      CELERY_TASK_TRACK_STARTED: 'true',
    });
    await worker.waitForOutput(/consuming/);
    const result = await celery.send('tasks.sleep', [TASK_SECONDS]);
    for (let tries = 0; (await result.state()) !== 'STARTED'; tries++) {
      if (tries > 200) throw new Error(`the task never started:\n${worker.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // STARTED is stored after the early ack is written, but the ack may still sit in the worker's
    // socket when it dies; RabbitMQ would then redeliver the message, which is safe but not the
    // case under test. So the kill waits until the broker has the message where each case puts it:
    // acked (gone) without acksLate, delivered and unacknowledged with it.
    await untilBrokerHolds({ ready: 0, unacknowledged: acksLate ? 1 : 0 }, acksLate ? 'the message held unacked' : 'the early ack');
    if ((await result.state()) !== 'STARTED') throw new Error(`the task ended before the kill: make TASK_SECONDS longer\n${worker.output()}`);
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    return result.id;
  }

  it('with acksLate, the task is redelivered and completed by another worker', async () => {
    const id = await killWorkerDuring(true);
    // The broker noticed the dead connection and put the message back.
    await untilBrokerHolds({ ready: 1, unacknowledged: 0 }, 'the message back in the queue');
    const survivor = await startSurvivor();
    try {
      expect(await celery.asyncResult(id).get({ timeout: 30_000 })).toBe(TASK_SECONDS);
    } finally {
      await survivor.close();
    }
  }, 90_000);

  it('without acksLate, the message was acked at start: the task is lost, as Celery documents', async () => {
    const id = await killWorkerDuring(false);
    // Nothing left anywhere for a worker to receive…
    expect((await queueCounts()).get(env.queue)).toEqual({ ready: 0, unacknowledged: 0 });
    const survivor = await startSurvivor();
    try {
      // …and a worker that has run a task sent after the kill (so it took whatever the queue
      // held before it, in order, on its one slot) has not run the killed one.
      expect(await (await celery.send('tasks.echo', ['after the kill'])).get({ timeout: 30_000 })).toBe('after the kill');
      expect(await celery.asyncResult(id).state()).toBe('STARTED');
    } finally {
      await survivor.close();
    }
  }, 90_000);
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { connect, type ChannelModel } from 'amqplib';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryClient, CeleryTask, CeleryWorker, TaskSignals } from '../../lib';
import { DuplicateGuardUnavailableError } from '../../lib/advanced';
import { ROOT, startNodeProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { queueCounts } from '../support/rabbitmq-inspection';
import { TcpFaultProxy } from '../support/tcp-fault-proxy';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** The tasks of test/support/guarded-worker-process.js, for the workers in this process. */
@Injectable()
class GuardedTasks {
  @CeleryTask({ name: 'guard.sleep_once', skipIfSucceeded: true })
  async sleepOnce(seconds: number): Promise<number> {
    await sleep(seconds * 1000);
    return seconds;
  }

  @CeleryTask({ name: 'guard.sleep' })
  async sleep(seconds: number): Promise<number> {
    await sleep(seconds * 1000);
    return seconds;
  }
}

/**
 * The duplicate-delivery guard (`skipIfSucceeded`) on real RabbitMQ and PostgreSQL. A worker
 * process (acksLate) stores SUCCESS, then its ack is lost (its broker link stops carrying what it
 * sends) and it is SIGKILLed: RabbitMQ redelivers the message. A new worker acks it without
 * running the task. For acksLate tasks every worker does that for redelivered messages
 * (previous-delivery.ts); the guard adds fresh duplicates (an outbox relay's second copy, a
 * producer's resend), which RabbitMQ does not flag as redelivered: without it they run again.
 */
describe('duplicate-delivery guard (skipIfSucceeded)', () => {
  let env: TestEnvironment;
  let producer: INestApplicationContext;
  let celery: CeleryClient;
  let amqp: ChannelModel;

  beforeAll(async () => {
    env = await createTestEnvironment('it-dupguard');
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    celery = producer.get(CeleryClient);
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    await amqp?.close();
    await producer?.close();
    await env?.dispose();
  });

  async function readyMessages(queue: string): Promise<number> {
    const channel = await amqp.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  }

  const storedRow = async (id: string) => (await querySql(env.databaseUrl, 'SELECT status, worker, date_done FROM celery_taskmeta WHERE task_id = $1', [id]))[0];

  /**
   * Runs `task` in a worker process whose acks never reach RabbitMQ, kills it once SUCCESS is
   * stored, and returns the task id and the stored row, with the message back in the queue.
   */
  async function succeedThenDieBeforeTheAck(task: string): Promise<{ id: string; stored: unknown }> {
    const proxy = new TcpFaultProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
    await proxy.start();
    const brokerThroughProxy = new URL(RABBITMQ_URL);
    brokerThroughProxy.hostname = '127.0.0.1';
    brokerThroughProxy.port = String(proxy.port);
    const hostname = `doomed-${uniqueName('w')}@test`;
    const worker = startNodeProcess(
      [join(ROOT, 'test', 'support', 'guarded-worker-process.js')],
      { CELERY_BROKER_URL: brokerThroughProxy.toString(), CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname },
      'guarded worker',
    );
    try {
      await worker.waitForOutput(/consuming/, 60_000);
      const result = await celery.send(task, [1]);
      await eventually(async () => ((await result.state()) === 'STARTED' ? true : undefined), 30_000, `${task} to start\n${worker.output()}`);
      // From here on what the worker sends (its ack) is lost; its results still reach PostgreSQL.
      proxy.holdClientBytes();
      await eventually(async () => ((await result.state()) === 'SUCCESS' ? true : undefined), 30_000, `${task} to succeed\n${worker.output()}`);
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBe('SIGKILL');
      // RabbitMQ saw the connection close with the message unacked: it is back in the queue, to be redelivered.
      let counts: unknown;
      await eventually(
        async () => {
          counts = (await queueCounts()).get(env.queue);
          return (await readyMessages(env.queue)) === 1 ? true : undefined;
        },
        60_000,
        'the unacked message to be requeued',
      ).catch((error: Error) => {
        throw new Error(`${error.message}; RabbitMQ last showed ${JSON.stringify(counts)}; worker output:\n${worker.output()}`);
      });
      const stored = await storedRow(result.id);
      expect(stored).toMatchObject({ status: 'SUCCESS', worker: hostname });
      return { id: result.id, stored };
    } finally {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await proxy.stop();
    }
  }

  /** A worker in this process on the same queue, counting the runs of `taskId` from before it consumes anything. */
  async function startSurvivor(taskId: string): Promise<{ app: INestApplicationContext; runs: () => number }> {
    const app = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { queues: [env.queue], acksLate: true, autoStart: false } },
      [GuardedTasks],
    );
    let runs = 0;
    app.get(TaskSignals).on('prerun', (signal) => {
      if (signal.task.id === taskId) runs++;
    });
    await app.get(CeleryWorker).start();
    return { app, runs: () => runs };
  }

  /** Until RabbitMQ holds nothing for the queue: neither ready nor delivered-and-unacked. */
  async function queueSettled(): Promise<void> {
    await eventually(
      async () => {
        const counts = (await queueCounts()).get(env.queue);
        return counts && counts.ready === 0 && counts.unacknowledged === 0 ? true : undefined;
      },
      30_000,
      'the message to be acked',
    );
  }

  it.each([
    { task: 'guard.sleep_once', title: 'acks a redelivered message whose SUCCESS is stored without running the task again' },
    { task: 'guard.sleep', title: 'without the guard too, an acksLate redelivery whose outcome is stored is not run again (the worker reads what the lost delivery left)' },
  ])('$title', async ({ task }) => {
    const { id, stored } = await succeedThenDieBeforeTheAck(task);
    const survivor = await startSurvivor(id);
    try {
      await queueSettled();
      expect(survivor.runs()).toBe(0);
      expect(await storedRow(id)).toEqual(stored);
    } finally {
      await survivor.app.close();
    }
  }, 180_000);

  it('acks a duplicate (not redelivered) copy of a succeeded task without running it', async () => {
    const taskId = uniqueName('dup');
    const worker = await startSurvivor(taskId);
    try {
      // What an outbox relay does after dying between the confirm and the DELETE: the same task id twice.
      expect(await (await celery.send('guard.sleep_once', [0], { taskId })).get({ timeout: 20_000 })).toBe(0);
      await celery.send('guard.sleep_once', [0], { taskId });
      await queueSettled();
      expect(worker.runs()).toBe(1);
    } finally {
      await worker.app.close();
    }
  }, 60_000);

  it('control: without the guard the duplicate copy runs the task a second time', async () => {
    const taskId = uniqueName('dup-unguarded');
    const worker = await startSurvivor(taskId);
    try {
      expect(await (await celery.send('guard.sleep', [0], { taskId })).get({ timeout: 20_000 })).toBe(0);
      await celery.send('guard.sleep', [0], { taskId });
      await eventually(() => (worker.runs() === 2 ? true : undefined), 20_000, 'the unguarded duplicate to run');
      await queueSettled();
    } finally {
      await worker.app.close();
    }
  }, 60_000);

  it('refuses to start a worker whose guarded task cannot be checked (rpc:// backend)', async () => {
    const queue = uniqueName('it-dupguard-rpc');
    env.alsoRemove(queue);
    await expect(startCeleryApp({ broker: RABBITMQ_URL, backend: 'rpc://', defaultQueue: queue, worker: { queues: [queue] } }, [GuardedTasks])).rejects.toThrow(
      DuplicateGuardUnavailableError,
    );
  }, 60_000);
});

import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { startSampleProcess } from '../support/built-app';
import { startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

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

  /** An in-process sample worker on the same queue, to pick up what the dead one left. */
  function startSurvivor(): Promise<INestApplicationContext> {
    const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue };
    return startCeleryApp(celeryOptionsFromEnvironment(settings, { worker: true }), [], [TasksModule]);
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
    const result = await celery.send('tasks.sleep', [2]);
    for (let tries = 0; (await result.state()) !== 'STARTED'; tries++) {
      if (tries > 200) throw new Error(`the task never started:\n${worker.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    return result.id;
  }

  it('with acksLate, the task is redelivered and completed by another worker', async () => {
    const id = await killWorkerDuring(true);
    const survivor = await startSurvivor();
    try {
      expect(await celery.asyncResult(id).get({ timeout: 15_000 })).toBe(2);
    } finally {
      await survivor.close();
    }
  }, 60_000);

  it('without acksLate, the message was acked at start: the task is lost, as Celery documents', async () => {
    const id = await killWorkerDuring(false);
    const survivor = await startSurvivor();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await celery.asyncResult(id).state()).toBe('STARTED');
    } finally {
      await survivor.close();
    }
  }, 60_000);
});

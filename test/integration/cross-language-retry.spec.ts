import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, currentTask } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class BouncingTask {
  /** The Nest half of xl.bounce (the Python half is in test/python/interop_tasks.py). */
  @CeleryTask('xl.bounce')
  bounce(pythonQueue: string, nestQueue: string, hops: number): { retries: number; by: string } {
    const { retries } = currentTask();
    if (retries >= hops) return { retries, by: 'nest' };
    return currentTask().retry({ queue: pythonQueue, countdown: 0 });
  }
}

/**
 * A task that retries back and forth between a Nest worker and a Python Celery 5.2.6 worker: each
 * side continues the other's retry count (the `retries` header) and keeps the task id.
 */
describe('retries across languages', () => {
  let env: TestEnvironment;
  const pythonQueue = uniqueName('it-xl-python');
  let app: INestApplicationContext;
  let python: PythonWorker;

  beforeAll(async () => {
    env = await createTestEnvironment('it-xl-retry');
    env.alsoRemove(pythonQueue);
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, [BouncingTask]);
    python = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl) });
  });

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it.each([
    [3, 'python'],
    [2, 'nest'],
  ])('counts retries across both workers (%i hops end on %s)', async (hops, lastWorker) => {
    const result = await app.get(CeleryClient).send('xl.bounce', [pythonQueue, env.queue, hops]);
    expect(await result.get({ timeout: 20_000 })).toEqual({ retries: hops, by: lastWorker });
  });
});

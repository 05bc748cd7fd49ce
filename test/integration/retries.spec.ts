import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, currentTask, TaskFailedError, TaskState } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';

class Unavailable extends Error {}

@Injectable()
class RetryingTasks {
  calls = new Map<string, number>();

  private count(key: string): number {
    const calls = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, calls);
    return calls;
  }

  /** Asks for its retry itself, with the error, like Celery's `raise self.retry(exc=..., countdown=...)`. */
  @CeleryTask({ name: 'retry.explicit', maxRetries: 2 })
  explicit(key: string, failures: number): { retries: number } {
    if (this.count(key) <= failures) currentTask().retry({ countdown: 0.3, error: new Unavailable(`attempt ${this.calls.get(key)}`) });
    return { retries: currentTask().retries };
  }

  /** Only Unavailable is retried: other errors fail at once. */
  @CeleryTask({ name: 'retry.selective', autoretryFor: [Unavailable], defaultRetryDelay: 0.05 })
  selective(key: string): never {
    this.count(key);
    throw new TypeError('not transient');
  }
}

describe('retries', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-retry');
    const sample = celeryOptionsFromEnvironment({ CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue }, { worker: true });
    app = await startCeleryApp(sample, [RetryingTasks], [TasksModule]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it("sample tasks.flaky(key, 2) succeeds on its third try (autoretryFor [Error], 0.1 s apart)", async () => {
    expect(await (await celery.send('tasks.flaky', ['third-time-lucky', 2])).get({ timeout: 10_000 })).toBe('third-time-lucky');
  });

  it('sample tasks.flaky(key, 9) ends in FAILURE with MaxRetriesExceededError keeping the last error', async () => {
    const error = await (await celery.send('tasks.flaky', ['hopeless', 9])).get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ excType: 'MaxRetriesExceededError', excModule: 'celery.exceptions' });
    expect((error as TaskFailedError).message).toContain("Can't retry tasks.flaky[");
    expect((error as TaskFailedError).message).toContain('last error: Error: flaky failure 6 of 9');
  });

  it('records RETRY with the error between tries, and the task sees its retry count', async () => {
    const result = await celery.send('retry.explicit', ['explicit', 2]);
    const retrying = await eventually(async () => {
      const info = await result.info();
      return info?.status === TaskState.RETRY ? info : undefined;
    }, 5_000, 'a RETRY state');
    expect(retrying.result).toMatchObject({ exc_type: 'Unavailable', exc_message: ['attempt 1'] });
    expect(await result.get({ timeout: 10_000 })).toEqual({ retries: 2 });
  });

  it('does not retry errors outside autoretryFor', async () => {
    const error = await (await celery.send('retry.selective', ['selective'])).get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ excType: 'TypeError' });
    expect(app.get(RetryingTasks).calls.get('selective')).toBe(1);
  });
});

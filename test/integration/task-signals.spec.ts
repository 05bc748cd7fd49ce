import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, currentTask, OnTaskSignal } from '../../lib';
import type { TaskSignal } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class HookedTasks {
  private attempts = 0;

  @CeleryTask('signalled.ok')
  ok(value: number): number {
    return value * 2;
  }

  @CeleryTask('signalled.bad')
  bad(): never {
    throw new RangeError('bad value');
  }

  @CeleryTask({ name: 'signalled.once', maxRetries: 1 })
  once(): string {
    if (this.attempts++ === 0) currentTask().retry({ countdown: 0.05, error: new Error('first try') });
    return 'second try';
  }
}

/** An app-wide observer: what an app would use to log, trace or alert. */
@Injectable()
class TaskObserver {
  readonly seen: string[] = [];

  @OnTaskSignal('prerun')
  prerun({ task }: TaskSignal): void {
    this.seen.push(`prerun ${task.name} retries=${task.retries}`);
  }

  @OnTaskSignal('success')
  success({ task, result, runtimeMs }: TaskSignal): void {
    this.seen.push(`success ${task.name} ${JSON.stringify(result)} ${typeof runtimeMs}`);
  }

  @OnTaskSignal('failure')
  failure({ task, error }: TaskSignal): void {
    this.seen.push(`failure ${task.name} ${(error as Error).name}: ${(error as Error).message}`);
  }

  @OnTaskSignal('retry')
  retry({ task, error }: TaskSignal): void {
    this.seen.push(`retry ${task.name} ${(error as Error).message}`);
  }

  @OnTaskSignal('postrun', { tasks: ['signalled.ok', 'signalled.bad'] })
  postrun({ task, state }: TaskSignal): void {
    this.seen.push(`postrun ${task.name} ${state}`);
  }

  @OnTaskSignal('success', { tasks: ['signalled.ok'] })
  broken(): never {
    throw new Error('signal handlers must never change the outcome');
  }
}

describe('task signals (@OnTaskSignal)', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-signals');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 1 } }, [HookedTasks, TaskObserver]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('sends the signals around success, failure and retry, in order, limited to the tasks named', async () => {
    const observer = app.get(TaskObserver);
    expect(await (await celery.send('signalled.ok', [21])).get({ timeout: 10_000 })).toBe(42);
    await (await celery.send('signalled.bad')).get({ timeout: 10_000 }).catch(() => undefined);
    expect(await (await celery.send('signalled.once')).get({ timeout: 10_000 })).toBe('second try');
    await eventually(() => (observer.seen.filter((line) => line.startsWith('success signalled.once')).length ? true : undefined), 5_000, 'the last signal');
    // In order for each task. Across tasks they may interleave: a task acked before it ran gives
    // its slot back when its code returns, so the next may start while its result is stored and
    // its success/failure/postrun signals are sent (as Celery sends task_success after storing).
    const ofTask = (name: string) => observer.seen.filter((line) => line.split(' ')[1] === name);
    expect(ofTask('signalled.ok')).toEqual(['prerun signalled.ok retries=0', 'success signalled.ok 42 number', 'postrun signalled.ok SUCCESS']);
    expect(ofTask('signalled.bad')).toEqual(['prerun signalled.bad retries=0', 'failure signalled.bad RangeError: bad value', 'postrun signalled.bad FAILURE']);
    expect(ofTask('signalled.once')).toEqual([
      'prerun signalled.once retries=0',
      'retry signalled.once first try',
      'prerun signalled.once retries=1',
      'success signalled.once "second try" number',
    ]);
    expect(observer.seen).toHaveLength(10); // and nothing for the tasks the handlers do not name
  });
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, currentTask, OnTaskEvent } from '../../lib';
import type { TaskEvent } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class HookedTasks {
  private attempts = 0;

  @CeleryTask('hooked.ok')
  ok(value: number): number {
    return value * 2;
  }

  @CeleryTask('hooked.bad')
  bad(): never {
    throw new RangeError('bad value');
  }

  @CeleryTask({ name: 'hooked.once', maxRetries: 1 })
  once(): string {
    if (this.attempts++ === 0) currentTask().retry({ countdown: 0.05, error: new Error('first try') });
    return 'second try';
  }
}

/** An app-wide observer: what an app would use to log, trace or alert. */
@Injectable()
class TaskObserver {
  readonly seen: string[] = [];

  @OnTaskEvent('prerun')
  prerun({ task }: TaskEvent): void {
    this.seen.push(`prerun ${task.name} retries=${task.retries}`);
  }

  @OnTaskEvent('success')
  success({ task, result, runtimeMs }: TaskEvent): void {
    this.seen.push(`success ${task.name} ${JSON.stringify(result)} ${typeof runtimeMs}`);
  }

  @OnTaskEvent('failure')
  failure({ task, error }: TaskEvent): void {
    this.seen.push(`failure ${task.name} ${(error as Error).name}: ${(error as Error).message}`);
  }

  @OnTaskEvent('retry')
  retry({ task, error }: TaskEvent): void {
    this.seen.push(`retry ${task.name} ${(error as Error).message}`);
  }

  @OnTaskEvent('postrun', { tasks: ['hooked.ok', 'hooked.bad'] })
  postrun({ task, state }: TaskEvent): void {
    this.seen.push(`postrun ${task.name} ${state}`);
  }

  @OnTaskEvent('success', { tasks: ['hooked.ok'] })
  broken(): never {
    throw new Error('hooks must never change the outcome');
  }
}

describe('task lifecycle hooks (@OnTaskEvent)', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-hooks');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 1 } }, [HookedTasks, TaskObserver]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('calls the hooks around success, failure and retry, in order, limited to the tasks named', async () => {
    const observer = app.get(TaskObserver);
    expect(await (await celery.send('hooked.ok', [21])).get({ timeout: 10_000 })).toBe(42);
    await (await celery.send('hooked.bad')).get({ timeout: 10_000 }).catch(() => undefined);
    expect(await (await celery.send('hooked.once')).get({ timeout: 10_000 })).toBe('second try');
    await eventually(() => (observer.seen.filter((line) => line.startsWith('success hooked.once')).length ? true : undefined), 5_000, 'the last hook');
    // In order for each task. Across tasks they may interleave: a task acked before it ran gives
    // its slot back when its code returns, so the next may start while its result is stored and
    // its success/failure/postrun hooks run (as Celery sends task_success after storing).
    const ofTask = (name: string) => observer.seen.filter((line) => line.split(' ')[1] === name);
    expect(ofTask('hooked.ok')).toEqual(['prerun hooked.ok retries=0', 'success hooked.ok 42 number', 'postrun hooked.ok SUCCESS']);
    expect(ofTask('hooked.bad')).toEqual(['prerun hooked.bad retries=0', 'failure hooked.bad RangeError: bad value', 'postrun hooked.bad FAILURE']);
    expect(ofTask('hooked.once')).toEqual([
      'prerun hooked.once retries=0',
      'retry hooked.once first try',
      'prerun hooked.once retries=1',
      'success hooked.once "second try" number',
    ]);
    expect(observer.seen).toHaveLength(10); // and nothing for the tasks the hooks do not name
  });
});

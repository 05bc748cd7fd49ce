import { INestApplicationContext, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryClient, CeleryTask, CeleryWorker, currentTask, TaskFailedError } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class LimitedTasks {
  startedAt: number[] = [];

  @CeleryTask({ name: 'limits.tick', rateLimit: '5/s' })
  tick(): number {
    this.startedAt.push(Date.now());
    return Date.now();
  }

  @CeleryTask({ name: 'limits.quick' })
  quick(): string {
    return 'quick';
  }

  /** Cooperates: stops as soon as its signal fires, and can tell the soft limit apart. */
  @CeleryTask({ name: 'limits.polite', softTimeLimit: 0.2 })
  async polite(): Promise<string> {
    try {
      await sleep(5_000, undefined, { signal: currentTask().signal });
      return 'finished';
    } catch (error) {
      const reason = currentTask().signal.reason as Error;
      if (reason?.name === 'SoftTimeLimitExceeded') return `cleaned up after ${reason.message}`;
      throw error;
    }
  }

  /** Ignores its signal: only the hard limit ends it, from the worker's point of view. */
  @CeleryTask({ name: 'limits.stubborn', timeLimit: 0.3 })
  async stubborn(): Promise<string> {
    await sleep(1_500);
    return 'too late';
  }
}

describe('rate and time limits', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-limits');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 4 } }, [LimitedTasks]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('spaces a rate-limited task at its rate while other tasks run freely', async () => {
    const tasks = app.get(LimitedTasks);
    tasks.startedAt = [];
    const ticks = await Promise.all(Array.from({ length: 6 }, () => celery.send('limits.tick')));
    const quick = await celery.send('limits.quick');
    const quickDoneBy = Date.now() + 500;
    expect(await quick.get({ timeout: 5_000 })).toBe('quick');
    expect(Date.now()).toBeLessThan(quickDoneBy);
    await Promise.all(ticks.map((tick) => tick.get({ timeout: 10_000 })));
    const gaps = tasks.startedAt.slice(1).map((at, index) => at - tasks.startedAt[index]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150); // 5/s: one every 200 ms, timer slack allowed
    expect(tasks.startedAt.at(-1)! - tasks.startedAt[0]).toBeGreaterThanOrEqual(900);
  });

  it('changes a rate limit at run time', async () => {
    const tasks = app.get(LimitedTasks);
    app.get(CeleryWorker).setRateLimit('limits.tick', null);
    tasks.startedAt = [];
    const ticks = await Promise.all(Array.from({ length: 6 }, () => celery.send('limits.tick')));
    await Promise.all(ticks.map((tick) => tick.get({ timeout: 10_000 })));
    expect(tasks.startedAt.at(-1)! - tasks.startedAt[0]).toBeLessThan(500);
    expect(() => app.get(CeleryWorker).setRateLimit('limits.tick', 'fast')).toThrow('Invalid rate limit string: "fast"');
    app.get(CeleryWorker).setRateLimit('limits.tick', '5/s');
  });

  it('fires the AbortSignal with SoftTimeLimitExceeded at the soft limit, which the task can catch', async () => {
    expect(await (await celery.send('limits.polite')).get({ timeout: 5_000 })).toBe('cleaned up after SoftTimeLimitExceeded(0.2)');
  });

  it('fails a task with TimeLimitExceeded at the hard limit and frees its slot', async () => {
    const started = Date.now();
    const error = await (await celery.send('limits.stubborn')).get({ timeout: 5_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    // As a Python worker stores it: billiard's class, the limit in seconds as its one argument.
    expect(error).toMatchObject({ excType: 'TimeLimitExceeded', excModule: 'billiard.exceptions', excMessage: [0.3] });
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('takes the limits from the message timelimit header over the task options', async () => {
    const error = await (await celery.send('limits.stubborn', [], { timeLimit: 0.1 })).get({ timeout: 5_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ excMessage: [0.1] });
  });
});

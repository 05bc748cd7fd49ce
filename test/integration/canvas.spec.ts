import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, chain, chord, group, GroupResult, TaskFailedError } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** What the errbacks and callbacks of this file received, by task. */
const received: Record<string, unknown[][]> = {};

@Injectable()
class CanvasTasks {
  @CeleryTask('cv.add')
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask('cv.mul')
  mul(x: number, y: number): number {
    return x * y;
  }

  @CeleryTask('cv.xsum')
  xsum(numbers: number[]): number {
    return numbers.reduce((total, value) => total + value, 0);
  }

  @CeleryTask('cv.fail')
  fail(...args: unknown[]): never {
    throw new TypeError(`failing with ${JSON.stringify(args)}`);
  }

  @CeleryTask('cv.record')
  record(...args: unknown[]): string {
    (received['cv.record'] ??= []).push(args);
    return 'recorded';
  }
}

/** Celery's canvas run by our worker alone, with the PostgreSQL backend. */
describe('canvas (chain, group, chord, link) on a Nest worker', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-canvas');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { queues: [env.queue], concurrency: 8 } }, [CanvasTasks]);
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('chains three tasks, each result first argument of the next, with parent links and children', async () => {
    const result = await chain(celery.signature('cv.add', [1, 2]), celery.signature('cv.add', [3]), celery.signature('cv.add', [4])).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(10);
    expect(await result.parent!.get({ timeout: 1_000 })).toBe(6);
    const first = result.parent as typeof result;
    expect(await first.parent!.get({ timeout: 1_000 })).toBe(3);
  });

  it('does not prepend the result to an immutable step', async () => {
    const result = await chain(celery.signature('cv.add', [1, 2]), celery.signature('cv.add', [10, 20]).asImmutable()).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(30);
  });

  it('stops a chain at a failure and stores the error on the remaining steps', async () => {
    const result = await chain(celery.signature('cv.add', [1, 2]), celery.signature('cv.fail'), celery.signature('cv.add', [4])).applyAsync();
    await expect(result.get({ timeout: 10_000 })).rejects.toThrow(/failing with \[3\]/);
    await expect(result.parent!.get({ timeout: 1_000 })).rejects.toBeInstanceOf(TaskFailedError);
  });

  it('runs a group and reads it in order, saved and restored', async () => {
    const result = await group([1, 2, 3, 4].map((n) => celery.signature('cv.mul', [n, n]))).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toEqual([1, 4, 9, 16]);
    expect(await result.completedCount()).toBe(4);
    expect(await result.ready()).toBe(true);
    expect(await result.successful()).toBe(true);
    expect(await result.failed()).toBe(false);
    await result.save();
    const restored = await GroupResult.restore(result.id, celery);
    expect(restored!.results.map((member) => member.id)).toEqual(result.results.map((member) => member.id));
    expect(await restored!.get({ timeout: 1_000 })).toEqual([1, 4, 9, 16]);
  });

  it.each([1, 2, 20])('joins a chord of %i header tasks with the counter', async (size) => {
    const header = Array.from({ length: size }, (_, i) => celery.signature('cv.add', [i, i]));
    const result = await chord(header, celery.signature('cv.xsum')).applyAsync();
    expect(await result.get({ timeout: 15_000 })).toBe(size * (size - 1));
  });

  it('fails a chord with ChordError on the body and runs the body errbacks', async () => {
    const body = celery.signature('cv.xsum').linkError(celery.signature('cv.record', ['chord-errback']));
    const result = await chord([celery.signature('cv.add', [1, 1]), celery.signature('cv.fail', ['x'])], body).applyAsync();
    const error = (await result.get({ timeout: 15_000 }).catch((caught: unknown) => caught)) as TaskFailedError;
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.message).toMatch(/ChordError/);
    expect(error.message).toMatch(/Dependency .* raised TypeError/);
    await eventuallyReceived((args) => args[0] === result.id && args[1] === 'chord-errback');
  });

  it('upgrades a group followed by a task inside a chain into a chord, and runs a chain inside a group', async () => {
    const upgraded = await chain(celery.signature('cv.add', [1, 1]), group([celery.signature('cv.mul', [2]), celery.signature('cv.mul', [3])]), celery.signature('cv.xsum')).applyAsync();
    expect(await upgraded.get({ timeout: 15_000 })).toBe(10);
    const nested = await group([chain(celery.signature('cv.add', [1, 1]), celery.signature('cv.mul', [10])), celery.signature('cv.add', [5, 5])]).applyAsync();
    expect(await nested.get({ timeout: 15_000 })).toEqual([20, 10]);
  });

  it('sends link callbacks with the result and errbacks with the failed task id', async () => {
    const ok = await celery.send('cv.add', [2, 3], { link: celery.signature('cv.record', ['after-add']) });
    await eventuallyReceived((args) => args[0] === 5 && args[1] === 'after-add');
    expect(await ok.get({ timeout: 5_000 })).toBe(5); // the callback is sent before SUCCESS is stored, as in Celery
    const failed = await celery.signature('cv.fail').linkError(celery.signature('cv.record', ['errback'])).applyAsync();
    await eventuallyReceived((args) => args[0] === failed.id && args[1] === 'errback');
  });

  it('joins a chord of 1,000 tasks', async () => {
    const header = Array.from({ length: 1000 }, (_, i) => celery.signature('cv.add', [i, 1]));
    const started = Date.now();
    const result = await chord(header, celery.signature('cv.xsum')).applyAsync();
    const sent = Date.now();
    expect(await result.get({ timeout: 120_000 })).toBe((999 * 1000) / 2 + 1000);
    // Figures for the README; printed with TEST_LOGS=1.
    if (process.env.TEST_LOGS) console.log(`chord of 1000: sent in ${sent - started} ms, body result after ${Date.now() - started} ms`);
  }, 150_000);
});

async function eventuallyReceived(match: (args: unknown[]) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(received['cv.record'] ?? []).some(match)) {
    if (Date.now() > deadline) throw new Error(`no matching cv.record call in ${JSON.stringify(received['cv.record'])}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

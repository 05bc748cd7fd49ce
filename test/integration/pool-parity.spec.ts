import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { listenToCeleryEvents, RawEvent } from '../support/python-event-monitor';
import { queueCounts } from '../support/rabbitmq-inspection';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { startPoolWorker, PoolWorker } from '../support/pool-worker';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

/** Task events of one worker, by task id: their types in arrival order (events may come in batches). */
function taskEvents(events: RawEvent[], hostname: string): Map<string, string[]> {
  const byTask = new Map<string, string[]>();
  for (const event of events.flatMap((raw) => (Array.isArray(raw.body) ? raw.body : [raw.body]))) {
    if (event.hostname !== hostname || !String(event.type).startsWith('task-')) continue;
    byTask.set(event.uuid, [...(byTask.get(event.uuid) ?? []), event.type]);
  }
  return byTask;
}

/**
 * One suite, both pools (issue #17): results, retries, revoke with terminate, events, hooks and
 * acks behave the same whether a task runs on the worker's event loop or in a process-pool child.
 * The worker is the CLI on test/support/pool-worker-module.js, so a child creates the same module.
 */
describe.each(['inline', 'process'] as const)('the %s pool', (pool) => {
  let env: TestEnvironment;
  let producer: INestApplicationContext;
  let celery: CeleryClient;
  let worker: PoolWorker;
  let events: { events: RawEvent[]; close(): Promise<void> };

  beforeAll(async () => {
    env = await createTestEnvironment(`it-pool-${pool}`);
    events = await listenToCeleryEvents();
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    celery = producer.get(CeleryClient);
    worker = await startPoolWorker({ queue: env.queue, backend: env.databaseUrl, concurrency: 2, env: { POOL_KIND: pool } });
  });

  afterAll(async () => {
    await worker?.stop();
    await events?.close();
    await producer?.close();
    await env?.dispose();
  });

  it("runs each task with the app's injected providers, in a child process only in the process pool", async () => {
    const greeting = (await (await celery.send('pool.greet', ['nest'])).get({ timeout: 20_000 })) as string;
    const [, pid] = /^hello nest from (\d+)$/.exec(greeting)!;
    const { pool: stats } = await worker.stats();
    if (pool === 'inline') {
      expect(Number(pid)).toBe(worker.pid);
      expect(stats.processes).toEqual([worker.pid]);
    } else {
      expect(Number(pid)).not.toBe(worker.pid);
      expect(stats.processes).toContain(Number(pid));
      expect(stats.processes).toHaveLength(2);
    }
    expect(await (await celery.send('pool.add', [20, 22])).get({ timeout: 20_000 })).toBe(42);
  });

  it("stores a task's exception as the in-process pool does", async () => {
    const failed = await celery.send('pool.fail', ['boom']);
    expect(await failed.get({ timeout: 20_000, propagate: false })).toEqual({ exc_type: 'TypeError', exc_message: ['boom'], exc_module: 'builtins', exc_js_type: 'TypeError' });
    expect(await failed.state()).toBe('FAILURE');
  });

  it('retries on retry() and on autoretryFor, and reports progress through the worker', async () => {
    expect(await (await celery.send('pool.retry_once', [])).get({ timeout: 20_000 })).toBe('retried 1');
    expect(await (await celery.send('pool.flaky', [])).get({ timeout: 20_000 })).toBe('after 2 retries');
    expect(await (await celery.send('pool.progress', [])).get({ timeout: 20_000 })).toBe('progressed');
  });

  it('terminates a running task on revoke with terminate, stores REVOKED and goes on serving', async () => {
    const waiting = await celery.send('pool.wait', [60]);
    await eventually(async () => ((await celery.control.inspect({ destination: [worker.hostname], timeout: 2_000 }).active())[worker.hostname] ?? []).some((task) => task.id === waiting.id) || undefined, 20_000, 'the task running');
    await celery.control.revoke(waiting.id, { terminate: true, destination: [worker.hostname] });
    await eventually(async () => ((await waiting.state()) === 'REVOKED' ? true : undefined), 20_000, 'REVOKED stored');
    expect(await (await celery.send('pool.add', [1, 1])).get({ timeout: 20_000 })).toBe(2);
  });

  it("runs the app's task signal handlers in the worker process, with the same states", async () => {
    const seen = (await (await celery.send('pool.signals', [])).get({ timeout: 20_000 })) as string[];
    expect(seen.every((line) => line.endsWith(` in ${worker.pid}`))).toBe(true);
    const states = seen.map((line) => line.replace(/ in \d+$/, ''));
    expect(states).toEqual(
      expect.arrayContaining(['postrun pool.add SUCCESS', 'postrun pool.fail FAILURE', 'postrun pool.retry_once RETRY', 'postrun pool.retry_once SUCCESS', 'postrun pool.flaky RETRY', 'postrun pool.wait REVOKED']),
    );
  });

  it('sends the same task events', async () => {
    const add = await celery.send('pool.add', [2, 3]);
    await add.get({ timeout: 20_000 });
    const failed = await celery.send('pool.fail', ['evented']);
    await failed.get({ timeout: 20_000, propagate: false });
    const retried = await celery.send('pool.retry_once', []);
    await retried.get({ timeout: 20_000 });
    const byTask = await eventually(() => {
      const seen = taskEvents(events.events, worker.hostname);
      return seen.get(add.id)?.includes('task-succeeded') && seen.get(failed.id)?.includes('task-failed') && seen.get(retried.id)?.filter((type) => type === 'task-succeeded').length ? seen : undefined;
    }, 10_000, 'the task events');
    expect(byTask.get(add.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(byTask.get(failed.id)).toEqual(['task-received', 'task-started', 'task-failed']);
    // The retry's own task-received may overtake task-retried: the worker sends that event after republishing.
    expect([...byTask.get(retried.id)!].sort()).toEqual(['task-received', 'task-received', 'task-retried', 'task-started', 'task-started', 'task-succeeded']);
  });

  it('leaves no message unacknowledged once the tasks are done', async () => {
    const counts = await eventually(async () => {
      const queue = (await queueCounts()).get(env.queue);
      return queue && queue.ready === 0 && queue.unacknowledged === 0 ? queue : undefined;
    }, 10_000, 'an empty queue');
    expect(counts).toEqual({ ready: 0, unacknowledged: 0 });
  });
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { CeleryClient, CeleryTask } from '../../lib';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { celeryResultEntities } from '../../lib/backend/database/entities';
import { ResultStoreError } from '../../lib/errors/result-store.error';
import { BACKGROUND_STORES_PER_SLOT } from '../../lib/worker/celery-worker';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { eventually, startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { queueCounts } from '../support/rabbitmq-inspection';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const LISTENER_APPLICATION_NAME = 'nestjs-celery result listener';

let sequence = 0;
function newTaskId(label: string): string {
  sequence += 1;
  return `${label}-${process.pid}-${sequence}-${Date.now().toString(36)}`;
}

function meta(taskId: string, overrides: Partial<TaskResultMeta> = {}): TaskResultMeta {
  return { taskId, status: TaskState.SUCCESS, result: taskId, traceback: null, children: [], dateDone: new Date(), ...overrides };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class LateTasks {
  runs = 0;

  @CeleryTask({ name: 'batching.late', acksLate: true })
  late(value: number): number {
    this.runs += 1;
    return value;
  }
}

/** One slot (concurrency 1), so whether a task waiting on its store holds it shows in the runs. */
@Injectable()
class OneSlotTasks {
  runs = 0;

  @CeleryTask({ name: 'slot.early' })
  early(value: number): number {
    this.runs += 1;
    return value;
  }

  @CeleryTask({ name: 'slot.late', acksLate: true })
  late(value: number): number {
    this.runs += 1;
    return value;
  }

  flakyRuns = 0;

  /** Fails its first try, then succeeds: one retry, sent at once. */
  @CeleryTask({ name: 'slot.flaky', autoretryFor: [Error], defaultRetryDelay: 0 })
  flaky(value: number): number {
    this.flakyRuns += 1;
    if (this.flakyRuns === 1) throw new Error('first try fails');
    return value;
  }
}

/** A transaction holding EXCLUSIVE on the result table: reads go on, every write waits for it. */
async function lockResultTable(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const locker = new Client({ connectionString: databaseUrl });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE celery_taskmeta IN EXCLUSIVE MODE');
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await locker.query('COMMIT').catch(() => undefined);
      await locker.end();
    },
  };
}

describe('PostgreSQL result writes in batches, and get() woken by NOTIFY', () => {
  let env: TestEnvironment;
  let backend: DatabaseResultBackend;

  beforeAll(async () => {
    env = await createTestEnvironment('it-batching');
    // pollIntervalMs so long that only a NOTIFY can end a wait quickly.
    backend = new DatabaseResultBackend({ url: env.databaseUrl, resultExpiresSeconds: 0, pollIntervalMs: 60_000 });
    await backend.connect();
  });

  afterAll(async () => {
    await backend?.close();
    await env?.dispose();
  });

  it('stores states sent together in one transaction, keeps the latest of a task, and fails only the state the database refuses', async () => {
    const ids = Array.from({ length: 50 }, () => newTaskId('batch'));
    const twice = ids[0];
    const refused = newTaskId('refused');
    const stores = [
      backend.storeResult(meta(twice, { status: TaskState.STARTED, dateDone: null, result: null })),
      ...ids.map((id) => backend.storeResult(meta(id))),
      backend.storeResult(meta(refused, { name: 'n'.repeat(400) })), // longer than varchar(155)
    ];
    const outcomes = await Promise.allSettled(stores);

    expect(outcomes.slice(0, -1).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    const last = outcomes[outcomes.length - 1];
    expect(last.status).toBe('rejected');
    expect((last as PromiseRejectedResult).reason).toBeInstanceOf(ResultStoreError);
    expect((last as PromiseRejectedResult).reason.message).toContain(`task ${refused}`);

    const rows = await querySql(env.databaseUrl, 'SELECT task_id, status, xmin::text AS tx FROM celery_taskmeta WHERE task_id = ANY($1)', [ids]);
    expect(rows).toHaveLength(50);
    expect(rows.every((row) => row.status === 'SUCCESS')).toBe(true);
    // That batch was refused as a whole, then written state by state; a batch without a bad
    // state is one statement and one transaction (one xmin for all its rows).
    const again = Array.from({ length: 30 }, () => newTaskId('together'));
    await Promise.all(again.map((id) => backend.storeResult(meta(id))));
    const together = await querySql(env.databaseUrl, 'SELECT DISTINCT xmin::text AS tx FROM celery_taskmeta WHERE task_id = ANY($1)', [again]);
    expect(together).toHaveLength(1);
    expect(await querySql(env.databaseUrl, 'SELECT 1 FROM celery_taskmeta WHERE task_id = $1', [refused])).toHaveLength(0);
  });

  it('notifies every ready id of a large batch, in payloads PostgreSQL accepts, and none of the unready', async () => {
    const listener = new Client({ connectionString: env.databaseUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(...(JSON.parse(message.payload ?? '[]') as string[])));
    try {
      await listener.query('LISTEN nestjs_celery_result_ready');
      const ready = Array.from({ length: 400 }, () => newTaskId(`ready-${'x'.repeat(100)}`));
      const started = newTaskId('started');
      await Promise.all([
        ...ready.map((id) => backend.storeResult(meta(id))),
        backend.storeResult(meta(started, { status: TaskState.STARTED, dateDone: null })),
      ]);
      await eventually(() => (heard.length >= ready.length ? true : undefined), 10_000, 'the notifications');
      expect(new Set(heard)).toEqual(new Set(ready));
    } finally {
      await listener.end();
    }
  });

  it('wakes a waiting get() as soon as the result is committed, long before its next poll', async () => {
    const taskId = newTaskId('woken');
    const waiting = backend.waitForResult(taskId, { timeout: 30_000 });
    await sleep(4_500); // the backoff has grown past 4 s by now
    const writer = new DatabaseResultBackend({ url: env.databaseUrl, migrationsRun: false, resultExpiresSeconds: 0 });
    await writer.connect();
    try {
      const storedAt = Date.now();
      await writer.storeResult(meta(taskId));
      expect(await waiting).toMatchObject({ status: 'SUCCESS', result: taskId });
      expect(Date.now() - storedAt).toBeLessThan(1_500);
    } finally {
      await writer.close();
    }
  });

  it('listens again after PostgreSQL drops the listening connection', async () => {
    const terminated = await querySql(
      env.databaseUrl,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [LISTENER_APPLICATION_NAME],
    );
    expect(terminated.length).toBe(1);
    const taskId = newTaskId('after-drop');
    const waiting = backend.waitForResult(taskId, { timeout: 30_000 });
    await eventually(
      async () => ((await querySql(env.databaseUrl, 'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [LISTENER_APPLICATION_NAME])).length === 1 ? true : undefined),
      15_000,
      'the listener to reconnect',
    );
    await sleep(4_500);
    const storedAt = Date.now();
    await backend.storeResult(meta(taskId));
    expect(await waiting).toMatchObject({ status: 'SUCCESS' });
    expect(Date.now() - storedAt).toBeLessThan(1_500);
  });

  it("also wakes get() on the application's own DataSource", async () => {
    const appDataSource = new DataSource({ type: 'postgres', url: env.databaseUrl, entities: [...celeryResultEntities] });
    await appDataSource.initialize();
    const shared = new DatabaseResultBackend({ dataSource: appDataSource, pollIntervalMs: 60_000, resultExpiresSeconds: 0 });
    await shared.connect();
    try {
      const taskId = newTaskId('app-data-source');
      const waiting = shared.waitForResult(taskId, { timeout: 30_000 });
      await sleep(4_500);
      const storedAt = Date.now();
      await backend.storeResult(meta(taskId));
      expect(await waiting).toMatchObject({ status: 'SUCCESS' });
      expect(Date.now() - storedAt).toBeLessThan(1_500);
    } finally {
      await shared.close();
      await appDataSource.destroy();
    }
  });

  describe('with acksLate', () => {
    let app: INestApplicationContext;

    beforeAll(async () => {
      app = await startCeleryApp(
        { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 4 } },
        [LateTasks],
      );
    });

    afterAll(async () => {
      await app?.close();
    });

    it('acks the message only after its result is committed', async () => {
      const celery = app.get(CeleryClient);
      expect(await (await celery.send('batching.late', [1])).get({ timeout: 10_000 })).toBe(1);

      // A transaction holding EXCLUSIVE on the table: reads go on, every write waits for it.
      const locker = new Client({ connectionString: env.databaseUrl });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE celery_taskmeta IN EXCLUSIVE MODE');
        const tasks = app.get(LateTasks);
        const runsBefore = tasks.runs;
        const result = await celery.send('batching.late', [2]);
        await eventually(() => (tasks.runs > runsBefore ? true : undefined), 10_000, 'the task to run');
        await sleep(1_000); // time for a premature ack to reach RabbitMQ
        expect((await queueCounts()).get(env.queue)).toEqual({ ready: 0, unacknowledged: 1 });
        expect(await result.state()).toBe('PENDING');

        await locker.query('COMMIT');
        expect(await result.get({ timeout: 10_000 })).toBe(2);
        await eventually(async () => ((await queueCounts()).get(env.queue)?.unacknowledged === 0 ? true : undefined), 10_000, 'the ack');
        expect(tasks.runs).toBe(runsBefore + 1);
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        await locker.end();
      }
    });
  });

  describe('a slot is given back when the task returns, not when its result is stored (acked before running)', () => {
    let app: INestApplicationContext | undefined;

    beforeEach(async () => {
      app = await startCeleryApp(
        { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 1 } },
        [OneSlotTasks],
      );
      // Warm: the table exists and the first write went through.
      expect(await (await app.get(CeleryClient).send('slot.early', [0])).get({ timeout: 10_000 })).toBe(0);
    });

    afterEach(async () => {
      await app?.close();
    });

    it('runs the next task while the last one is stored, with a bounded number of stores waiting', async () => {
      const tasks = app!.get(OneSlotTasks);
      const celery = app!.get(CeleryClient);
      const before = tasks.runs;
      const lock = await lockResultTable(env.databaseUrl);
      try {
        const values = Array.from({ length: BACKGROUND_STORES_PER_SLOT + 2 }, (_, index) => index + 1);
        const results = [];
        for (const value of values) results.push(await celery.send('slot.early', [value]));
        // The first BACKGROUND_STORES_PER_SLOT give the one slot back and wait for their stores; the
        // next finds no background store left, so it keeps the slot; the last waits for it.
        const ran = before + BACKGROUND_STORES_PER_SLOT + 1;
        await eventually(() => (tasks.runs === ran ? true : undefined), 10_000, 'the tasks to run while their results wait');
        await sleep(1_000);
        expect(tasks.runs).toBe(ran);
        expect(new Set(await Promise.all(results.map((result) => result.state())))).toEqual(new Set(['PENDING']));
        await lock.release();
        expect(await Promise.all(results.map((result) => result.get({ timeout: 10_000 })))).toEqual(values);
      } finally {
        await lock.release();
      }
    });

    it('keeps the slot of an acksLate task until its result is stored', async () => {
      const tasks = app!.get(OneSlotTasks);
      const celery = app!.get(CeleryClient);
      const before = tasks.runs;
      const lock = await lockResultTable(env.databaseUrl);
      try {
        const results = [await celery.send('slot.late', [1]), await celery.send('slot.late', [2])];
        await eventually(() => (tasks.runs === before + 1 ? true : undefined), 10_000, 'the first task to run');
        await sleep(1_000);
        expect(tasks.runs).toBe(before + 1);
        await lock.release();
        expect(await Promise.all(results.map((result) => result.get({ timeout: 10_000 })))).toEqual([1, 2]);
      } finally {
        await lock.release();
      }
    });

    it('stores RETRY before it sends the next try, so that try can never be overwritten by it', async () => {
      const tasks = app!.get(OneSlotTasks);
      const lock = await lockResultTable(env.databaseUrl);
      try {
        const result = await app!.get(CeleryClient).send('slot.flaky', [5]);
        await eventually(() => (tasks.flakyRuns === 1 ? true : undefined), 10_000, 'the first try');
        // The RETRY waits for the table; the next try must wait with it (sent after it is stored).
        await sleep(1_000);
        expect(tasks.flakyRuns).toBe(1);
        await lock.release();
        expect(await result.get({ timeout: 10_000 })).toBe(5);
        expect(tasks.flakyRuns).toBe(2);
      } finally {
        await lock.release();
      }
    });

    it('shuts down only once the results being stored are stored', async () => {
      const celery = app!.get(CeleryClient);
      const lock = await lockResultTable(env.databaseUrl);
      try {
        const result = await celery.send('slot.early', [7]);
        await eventually(() => (app!.get(OneSlotTasks).runs >= 2 ? true : undefined), 10_000, 'the task to run');
        let closed = false;
        const closing = app!.close().then(() => (closed = true));
        app = undefined;
        await sleep(1_000);
        expect(closed).toBe(false);
        await lock.release();
        await closing;
        const [row] = await querySql(env.databaseUrl, 'SELECT status FROM celery_taskmeta WHERE task_id = $1', [result.id]);
        expect(row).toEqual({ status: 'SUCCESS' });
      } finally {
        await lock.release();
      }
    });
  });
});

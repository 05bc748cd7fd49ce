import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { newDataSource } from '../../lib/backend/database/celery-result-schema';
import { runCeleryMigrations } from '../../lib/backend/database/migrations/run-celery-migrations';
import { resolveBeatOptions } from '../../lib/beat/beat-options';
import { BeatFire, CeleryBeat } from '../../lib/beat/celery-beat';
import { CLAIM_ROWS_SQL, LOAD_ROWS_SQL } from '../../lib/beat/store/periodic-task-row';
import { celeryBeatMigrations } from '../../lib/beat/store/beat-migrations';
import type { PreparedTask } from '../../lib/client/celery-client';
import { celeryOutboxMigrations } from '../../lib/outbox/create-celery-outbox.migration';
import { SILENT_LOGGER } from '../../lib/utils/logger';
import { eventually } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** How long each of the beat's transactions is held open: a loaded database, or a large claim. */
const SLOW_TRANSACTION_MS = 150;

/**
 * When the beat wakes and claims, against real PostgreSQL with the timing made slow on purpose.
 *
 * A run that falls due while the beat's claim transaction is still open fires as soon as that
 * transaction ends, not an interval later. Two one-second schedules due 40 ms apart, on a
 * database whose transactions take 150 ms: the second one is due by the time the first one's
 * claim commits. Before the fix the beat then slept the whole interval (the schedule's
 * `nextSeconds` for a due entry) and fired it about a second late — on a loaded CI machine that
 * showed as a 2 s gap between the fires of the three-beat drill (test/faults/beat-replicas).
 *
 * A beat whose estimate of the database's clock runs ahead wakes a little early; the database
 * says "not yet", and the beat waits the database's remaining time instead of claiming again in
 * a loop.
 */
describe('beat: when it wakes and claims', () => {
  let env: TestEnvironment;
  let dataSource: DataSource;
  let beat: CeleryBeat | null = null;

  beforeAll(async () => {
    env = await createTestEnvironment('it-beat-timing');
    dataSource = newDataSource({ type: 'postgres', url: env.databaseUrl });
    await dataSource.initialize();
    await runCeleryMigrations(dataSource, [...celeryOutboxMigrations, ...celeryBeatMigrations]);
  }, 60_000);

  afterAll(async () => {
    await beat?.stop();
    await dataSource?.destroy();
    await env?.dispose();
  });

  const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);

  /** One-second schedules, each due `dueInMs` from now. */
  async function insertSchedules(schedules: Record<string, number>): Promise<void> {
    await sql('DELETE FROM django_celery_beat_periodictask');
    const [interval] = await sql(`INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id`);
    for (const [name, dueInMs] of Object.entries(schedules)) {
      await sql(
        `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, headers, enabled, total_run_count, date_changed, description, one_off, interval_id, last_run_at)
         VALUES ($1, 'timing.tick', '[]', '{}', '{}', true, 0, now(), '', false, $2, clock_timestamp() - make_interval(secs => (1000 - $3::float) / 1000))`,
        [name, interval.id, dueInMs],
      );
    }
  }

  /** The DataSource as the beat sees it: each transaction held open `holdMs` longer, LOAD_ROWS_SQL sent `loadDelayMs` late, claims counted. */
  function instrumented({ holdMs = 0, loadDelayMs = 0 }): { source: DataSource; claims: () => number } {
    const transaction = dataSource.transaction.bind(dataSource) as (work: (manager: EntityManager) => Promise<unknown>) => Promise<unknown>;
    const query = dataSource.query.bind(dataSource);
    let claims = 0;
    const source = Object.create(dataSource) as DataSource;
    source.transaction = ((work: (manager: EntityManager) => Promise<unknown>) =>
      transaction(async (manager) => {
        const counted = Object.create(manager) as EntityManager;
        counted.query = ((text: string, parameters?: unknown[]) => {
          if (text === CLAIM_ROWS_SQL) claims++;
          return manager.query(text, parameters);
        }) as EntityManager['query'];
        const result = await work(counted);
        if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
        return result;
      })) as DataSource['transaction'];
    source.query = (async (text: string, parameters?: unknown[]) => {
      if (text === LOAD_ROWS_SQL && loadDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, loadDelayMs));
      return query(text, parameters);
    }) as DataSource['query'];
    return { source, claims: () => claims };
  }

  /** Runs a beat on `source` until `name` fired `times` times; returns every fire. */
  async function fireUntil(source: DataSource, name: string, times: number): Promise<BeatFire[]> {
    const fires: BeatFire[] = [];
    beat = new CeleryBeat({
      options: resolveBeatOptions({ scheduler: 'django', dataSource: source }, {})!,
      dataSource: source,
      codeRows: [],
      prepare: (): PreparedTask => {
        const taskId = randomUUID();
        return { taskId, queue: 'unused', message: { exchange: '', routingKey: 'unused', properties: { headers: { id: taskId } }, body: Buffer.from('[]') } };
      },
      publish: async () => undefined,
      logger: SILENT_LOGGER,
      listeners: [{ beatFired: (fire) => fires.push(fire) }],
    });
    await beat.start();
    await eventually(() => (fires.filter((fire) => fire.name === name).length >= times ? true : undefined), 20_000, `${times} fires of ${name}`);
    await beat.stop();
    beat = null;
    return fires;
  }

  const late = (fires: BeatFire[]) => fires.filter((fire) => fire.lagSeconds > 0.5).map((fire) => `${fire.name} ${fire.lagSeconds.toFixed(3)} s`);

  it('fires a run that fell due during the claim right after it, not an interval later', async () => {
    // Due in 500 ms and 40 ms later: well inside one claim of the first.
    await insertSchedules({ first: 500, second: 540 });
    const { source } = instrumented({ holdMs: SLOW_TRANSACTION_MS });
    const fires = await fireUntil(source, 'second', 3);
    // A claim takes ~150 ms here; a run left for the next interval would lag by about a second.
    expect(late(fires)).toEqual([]);
    expect(fires.length).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it("waits for the database's clock when its own runs ahead, rather than claiming again and again", async () => {
    await insertSchedules({ only: 600 });
    // LOAD_ROWS_SQL sent 400 ms after the beat notes the time: the midpoint it measures the database's
    // clock against is 200 ms early, so its estimate of that clock runs ~200 ms ahead.
    const { source, claims } = instrumented({ loadDelayMs: 400 });
    const fires = await fireUntil(source, 'only', 3);
    expect(late(fires)).toEqual([]);
    // Per fire: the claim that fires and at most one the database turned down as early (a claim
    // again at once after each "not yet" would make a hundred or more in those 200 ms).
    expect(claims()).toBeLessThanOrEqual(fires.length * 2 + 1);
  }, 60_000);
});

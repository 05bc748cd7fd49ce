import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { newDataSource } from '../../lib/backend/database/celery-result-schema';
import { runCeleryMigrations } from '../../lib/backend/database/migrations/run-celery-migrations';
import { resolveBeatOptions } from '../../lib/beat/beat-options';
import { BeatFire, CeleryBeat } from '../../lib/beat/celery-beat';
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
 * A run that falls due while the beat's claim transaction is still open fires as soon as that
 * transaction ends, not an interval later. Two one-second schedules due 40 ms apart, on a
 * database whose transactions take 150 ms: the second one is due by the time the first one's
 * claim commits. Before the fix the beat then slept the whole interval (the schedule's
 * `nextSeconds` for a due entry) and fired it about a second late — on a loaded CI machine that
 * showed as a 2 s gap between the fires of the three-beat drill (test/faults/beat-replicas).
 */
describe('beat: runs due during a claim', () => {
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

  it('fires a run that fell due during the claim right after it, not an interval later', async () => {
    const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);
    const [interval] = await sql(`INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id`);
    // Due in 500 ms and 40 ms later: well inside one claim of the first.
    for (const [name, lastRunMs] of [['first', 500], ['second', 460]] as const) {
      await sql(
        `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, headers, enabled, total_run_count, date_changed, description, one_off, interval_id, last_run_at)
         VALUES ($1, 'timing.tick', '[]', '{}', '{}', true, 0, now(), '', false, $2, clock_timestamp() - make_interval(secs => $3::float / 1000))`,
        [name, interval.id, lastRunMs],
      );
    }

    // Every transaction of the beat (its claims, its relay) held open SLOW_TRANSACTION_MS longer.
    const transaction = dataSource.transaction.bind(dataSource) as (work: (manager: EntityManager) => Promise<unknown>) => Promise<unknown>;
    const slowed = Object.create(dataSource) as DataSource;
    slowed.transaction = ((work: (manager: EntityManager) => Promise<unknown>) =>
      transaction(async (manager) => {
        const result = await work(manager);
        await new Promise((resolve) => setTimeout(resolve, SLOW_TRANSACTION_MS));
        return result;
      })) as DataSource['transaction'];

    const fires: BeatFire[] = [];
    const options = resolveBeatOptions({ scheduler: 'django', dataSource: slowed }, {})!;
    beat = new CeleryBeat({
      options,
      dataSource: slowed,
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
    await eventually(() => (fires.filter((fire) => fire.name === 'second').length >= 3 ? true : undefined), 20_000, 'three fires of the second schedule');
    await beat.stop();
    beat = null;

    const lags = fires.map((fire) => `${fire.name} ${fire.lagSeconds.toFixed(3)} s`);
    // A claim takes ~150 ms here; a run left for the next interval would lag by about a second.
    expect(fires.filter((fire) => fire.lagSeconds > 0.5).map((fire) => `${fire.name} ${fire.lagSeconds.toFixed(3)} s`)).toEqual([]);
    expect(lags.length).toBeGreaterThanOrEqual(6);
  }, 60_000);
});

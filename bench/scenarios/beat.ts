import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { runCeleryMigrations } from '../../lib/backend/database/migrations/run-celery-migrations';
import { celeryBeatMigrations } from '../../lib/beat/store/beat-migrations';
import { celeryOutboxMigrations } from '../../lib/outbox/create-celery-outbox.migration';
import { Bench } from '../support/bench-context';
import { onCleanup } from '../support/cleanup';
import { BenchDatabase, createDatabase } from '../support/postgres';
import { startBeatProcess } from '../support/processes';
import { pollUntil } from '../support/rabbit';
import { addRow } from '../support/report';
import { latencyPercentiles, summarize } from '../support/stats';

const SCENARIO = '12. Beat: schedules due every second';
/** The Django project whose settings run django-celery-beat (test/python/djproj). */
const DJANGO_PROJECT = join(__dirname, '..', '..', '..', 'test', 'python', 'djproj');

/**
 * 12. BENCH_BEAT_SCHEDULES interval schedules of one second in django-celery-beat's tables, fired
 * for BENCH_BEAT_SECONDS by three of our beats on one database: runs fired per second, the lag of
 * each fire after its due time (p50, p99), and duplicates (messages delivered beyond one per
 * recorded run, counted by task id on RabbitMQ). Beside it, one Python `celery beat -S
 * django_celery_beat.schedulers:DatabaseScheduler` (Celery allows only one) on the same schedules.
 */
export async function beatScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const ours = await runBeats(bench, 'ours', async (database) => {
    const beats = await Promise.all([0, 1, 2].map(() => startBeatProcess(config, database.url)));
    return {
      stop: async () => {
        const lags = (await Promise.all(beats.map((beat) => beat.lagsMs()))).flat();
        await Promise.all(beats.map((beat) => beat.stop()));
        return lags;
      },
    };
  });
  addRow(bench, { key: 'beat.ours.fires', scenario: SCENARIO, subject: `3 × our beat, ${config.beatSchedules} schedules: runs fired`, unit: 'runs/s', summary: summarize([ours.firesPerSecond]) });
  const lag = latencyPercentiles(ours.lagsMs);
  addRow(bench, { key: 'beat.ours.lag-p50', scenario: SCENARIO, subject: '3 × our beat: lag after the due time, p50', unit: 'ms', summary: summarize([lag.p50]) });
  addRow(bench, { key: 'beat.ours.lag-p99', scenario: SCENARIO, subject: '3 × our beat: lag after the due time, p99', unit: 'ms', summary: summarize([lag.p99]) });
  addRow(bench, { key: 'beat.ours.duplicates', scenario: SCENARIO, subject: '3 × our beat: duplicate deliveries', unit: 'messages', summary: summarize([ours.duplicates]) });
  if (!config.pythonCelery) return;
  const python = await runBeats(bench, 'python', async (database) => {
    await djangoMigrate(database.url);
    const child = spawn(config.python, ['-m', 'celery', '-A', 'djproj', 'beat', '-S', 'django_celery_beat.schedulers:DatabaseScheduler', '-l', 'warning'], {
      cwd: DJANGO_PROJECT,
      env: { ...process.env, DJANGO_SETTINGS_MODULE: 'djproj.beat_settings', DJANGO_DATABASE_URL: database.url, DJANGO_CELERY_BROKER_URL: config.rabbitmqUrl },
      stdio: 'ignore',
    });
    const release = onCleanup(`python beat (pid ${child.pid})`, async () => {
      child.kill('SIGKILL');
    });
    return {
      stop: async () => {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
        await release();
        return [];
      },
    };
  });
  addRow(bench, { key: 'beat.python.fires', scenario: SCENARIO, subject: `1 × celery beat (django-celery-beat), ${config.beatSchedules} schedules: runs fired`, unit: 'runs/s', summary: summarize([python.firesPerSecond]) });
}

interface BeatRun {
  firesPerSecond: number;
  lagsMs: number[];
  duplicates: number;
}

/** Fills a fresh database with the schedules, runs the beats for the configured time, then counts what RabbitMQ delivered. */
async function runBeats(bench: Bench, label: string, start: (database: BenchDatabase) => Promise<{ stop(): Promise<number[]> }>): Promise<BeatRun> {
  const { config, tools } = bench;
  const database = await createDatabase(config.postgresUrl, `beat_${label}`);
  if (label === 'ours') await migrate(database.url);
  const queue = await tools.taskQueue(`beat-${label}`);
  const channel = await tools.channel();
  const taskIds = new Set<string>();
  const deliveredAt: number[] = [];
  await channel.consume(queue, (message) => {
    if (!message) return;
    deliveredAt.push(Date.now());
    taskIds.add(String(message.properties.headers?.id));
  }, { noAck: true });
  const beats = await start(database);
  const { client } = database;
  const [interval] = (await client.query(`INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id`)).rows;
  // last_run_at now: every schedule is due one second after the beats see it, all at once, as the schedules of one deployment are.
  await client.query(
    `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, headers, enabled, total_run_count, date_changed, description, one_off, interval_id, last_run_at)
     SELECT 'bench-' || n, 'bench.noop', '[]', '{}', $1, '{}', true, 0, now(), '', false, $2, now() FROM generate_series(1, $3) AS n`,
    [queue, interval.id, config.beatSchedules],
  );
  // Fires are counted on RabbitMQ (Python's beat writes total_run_count only when it syncs), over
  // BENCH_BEAT_SECONDS from the first delivery: start-up is not part of the rate.
  await pollUntil(() => deliveredAt.length > 0, 50, 120_000, `the first fire (${label})`);
  const from = deliveredAt[0];
  await new Promise((resolve) => setTimeout(resolve, config.beatSeconds * 1000));
  const fired = deliveredAt.filter((at) => at < from + config.beatSeconds * 1000).length;
  await client.query('UPDATE django_celery_beat_periodictask SET enabled = false');
  // The beats' relays publish what was committed before they stop (a stopped beat leaves its rows to the next relay).
  if (label === 'ours') await pollUntil(async () => Number((await client.query('SELECT count(*) AS n FROM celery_outbox')).rows[0].n) === 0, 100, 300_000, 'the outbox relayed');
  const lagsMs = await beats.stop();
  if (label === 'ours') {
    const recorded = Number((await client.query('SELECT coalesce(sum(total_run_count), 0) AS n FROM django_celery_beat_periodictask')).rows[0].n);
    await pollUntil(() => deliveredAt.length >= recorded, 50, 60_000, `${recorded} deliveries`);
  }
  await channel.close().catch(() => undefined);
  return { firesPerSecond: fired / config.beatSeconds, lagsMs, duplicates: deliveredAt.length - taskIds.size };
}

async function migrate(url: string): Promise<void> {
  const dataSource = new DataSource({ type: 'postgres', url });
  await dataSource.initialize();
  try {
    await runCeleryMigrations(dataSource, [...celeryOutboxMigrations, ...celeryBeatMigrations]);
  } finally {
    await dataSource.destroy();
  }
}

function djangoMigrate(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djproj.beat_settings'); django.setup(); from django.core.management import call_command; call_command('migrate', 'django_celery_beat', verbosity=0)"], {
      cwd: DJANGO_PROJECT,
      env: { ...process.env, DJANGO_DATABASE_URL: url, PYTHONPATH: DJANGO_PROJECT },
      stdio: 'inherit',
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`Django migrate exited ${code}`))));
  });
}

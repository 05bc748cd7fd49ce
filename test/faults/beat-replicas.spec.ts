import { connect, type ChannelModel } from 'amqplib';
import { join } from 'node:path';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { eventually } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const SCHEDULES = 20;

/**
 * Fault: three beat processes of the sample app (`dist/sample-app/src/main-beat.js`,
 * CELERY_BEAT_SCHEDULER=django) on one database, one of them with its clock 30 s ahead, and one
 * SIGKILLed while they fire 20 interval schedules due every second, an admin's crontab due every
 * minute and a clocked one-off. Every run recorded in the tables is delivered on RabbitMQ once
 * (distinct task ids = total_run_count, per schedule), no run is lost, no interval schedule goes
 * more than 2 s without a fire, the crontab fires at its minute and the clocked row exactly once.
 */
describe('fault: three beats on one database, one SIGKILLed, one with its clock 30 s ahead', () => {
  let env: TestEnvironment;
  let amqp: ChannelModel;
  const beats: SampleProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('fault-beat');
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    for (const beat of beats) beat.child.kill('SIGKILL');
    await amqp?.close();
    await env?.dispose();
  });

  const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);

  it('fires each due run exactly once, with no gap over 2 s', async () => {
    const beatEnv = (extra: Record<string, string> = {}) => ({
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_BEAT_SCHEDULER: 'django',
      CELERY_BEAT_DATABASE_URL: env.databaseUrl,
      CELERY_QUEUES: env.queue,
      ...extra,
    });
    const startBeat = (extra?: Record<string, string>) => {
      const beat = startNodeProcess([join(ROOT, 'dist', 'sample-app', 'src', 'main-beat.js')], beatEnv(extra), 'main-beat');
      beats.push(beat);
      return beat;
    };
    // The first beat creates the tables (our migration); then an admin's rows, as Django's ORM writes them.
    const first = startBeat();
    await first.waitForOutput(/Beat started/);
    const [interval] = await sql(`INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id`);

    const channel = await amqp.createChannel();
    await channel.assertQueue(env.queue, { durable: true });
    const deliveries: { name: string; taskId: string; at: number }[] = [];
    await channel.consume(env.queue, (message) => {
      if (!message) return;
      const headers = message.properties.headers!;
      deliveries.push({ name: String(headers.periodic_task_name), taskId: String(headers.id), at: Date.now() });
    }, { noAck: true });

    for (let index = 0; index < SCHEDULES; index++) {
      await sql(
        `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, headers, enabled, total_run_count, date_changed, description, one_off, interval_id)
         VALUES ($1, 'beat.drill.tick', $2, '{}', $3, '{}', true, 0, now(), '', false, $4)`,
        [`drill-${index}`, JSON.stringify([index]), env.queue, interval.id],
      );
    }
    // The "Done when": an admin's crontab and clocked rows too, on the same three beats.
    const [crontab] = await sql(`INSERT INTO django_celery_beat_crontabschedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone) VALUES ('*', '*', '*', '*', '*', 'UTC') RETURNING id`);
    const [clocked] = await sql(`INSERT INTO django_celery_beat_clockedschedule (clocked_time) VALUES (now() + interval '6 seconds') RETURNING id`);
    await sql(
      `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, headers, enabled, total_run_count, date_changed, description, one_off, crontab_id, clocked_id)
       VALUES ('admin-crontab', 'beat.drill.minute', '[]', '{}', $1, '{}', true, 0, now(), '', false, $2, NULL),
              ('admin-clocked', 'beat.drill.once', '[]', '{}', $1, '{}', true, 0, now(), '', true, NULL, $3)`,
      [env.queue, crontab.id, clocked.id],
    );
    const [victim, ahead] = [startBeat(), startBeat({ NODE_OPTIONS: `-r ${join(ROOT, 'test', 'support', 'clock-ahead.js')}` })];
    await Promise.all([victim.waitForOutput(/Beat started/), ahead.waitForOutput(/Beat started/)]);

    await eventually(() => (deliveries.length >= SCHEDULES * 4 ? true : undefined), 20_000, 'four seconds of fires');
    // The victim must be firing when it dies: kill it right after one of its own fires.
    await victim.waitForOutput(/Sending due task/, 10_000);
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => (deliveries.filter((delivery) => delivery.at > killedAt).length >= SCHEDULES * 4 ? true : undefined), 20_000, 'four seconds of fires after the kill');
    // The crontab's first minute boundary may be a minute away.
    await eventually(() => (deliveries.some((delivery) => delivery.name === 'admin-crontab') ? true : undefined), 70_000, "the admin's crontab to fire at its minute");

    // An admin disables every schedule: the beats stop firing, their relays publish what they committed.
    await sql(`UPDATE django_celery_beat_periodictask SET enabled = false`);
    await eventually(async () => (Number((await sql('SELECT count(*) AS n FROM celery_outbox'))[0].n) === 0 ? true : undefined), 10_000, 'the outbox relayed');
    const rows = await sql(`SELECT name, total_run_count FROM django_celery_beat_periodictask ORDER BY name`);
    const recorded = rows.reduce((sum, row) => sum + Number(row.total_run_count), 0);
    await eventually(() => (deliveries.length >= recorded ? true : undefined), 10_000, 'every recorded run delivered');

    const byName = new Map<string, { taskIds: Set<string>; times: number[] }>();
    for (const delivery of deliveries) {
      const entry = byName.get(delivery.name) ?? { taskIds: new Set(), times: [] };
      // A run's second copy (same task id, from a relay killed after the confirm) is no second run: gaps are between runs.
      if (!entry.taskIds.has(delivery.taskId)) entry.times.push(delivery.at);
      entry.taskIds.add(delivery.taskId);
      byName.set(delivery.name, entry);
    }
    const duplicates = deliveries.length - [...byName.values()].reduce((sum, entry) => sum + entry.taskIds.size, 0);
    const everySecond = [...byName].filter(([name]) => name.startsWith('drill-')).map(([, entry]) => entry);
    const gaps = everySecond.map(({ times }) => Math.max(...times.slice(1).map((time, index) => time - times[index])));
    const largestGap = Math.max(...gaps);
    // Two beats firing one due run would show as two runs well under a second apart.
    const smallestGap = Math.min(...everySecond.flatMap(({ times }) => times.slice(1).map((time, index) => time - times[index])));
    const firedBy = beats.map((beat) => (beat.output().match(/Sending due task/g) ?? []).length);
    console.log(
      `beat fault drill: ${recorded} runs recorded, ${deliveries.length} delivered (${duplicates} redelivered with the same task id), ` +
        `gaps between fires of a schedule ${smallestGap}–${largestGap} ms; fired by each beat: ${firedBy.join(', ')} (the second was SIGKILLed, the third runs 30 s ahead)`,
    );

    // Each recorded run delivered once: as many distinct task ids per schedule as runs recorded.
    expect(rows.map((row) => [row.name, Number(row.total_run_count)])).toEqual(rows.map((row) => [row.name, byName.get(row.name)?.taskIds.size ?? 0]));
    // A relay killed between the broker's confirm and its DELETE publishes those again, with the same task id (at most one batch).
    expect(duplicates).toBeLessThanOrEqual(100);
    expect(largestGap).toBeLessThanOrEqual(2000);
    expect(smallestGap).toBeGreaterThan(500);
    // The crontab fired at its minute(s), each run once; the clocked one-off once, then disabled.
    const minute = rows.find((row) => row.name === 'admin-crontab');
    expect(Number(minute.total_run_count)).toBeGreaterThanOrEqual(1);
    expect(byName.get('admin-clocked')?.taskIds.size).toBe(1);
    expect(Number(rows.find((row) => row.name === 'admin-clocked').total_run_count)).toBe(1);
    // Every beat took part, the one ahead too (it decides by the database's clock, so it never fires early).
    expect(firedBy.every((count) => count > 0)).toBe(true);
    await channel.close();
  }, 200_000);
});

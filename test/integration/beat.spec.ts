import { INestApplicationContext, Injectable } from '@nestjs/common';
import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { Registry } from 'prom-client';
import { CeleryTask } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The beat in one process against real PostgreSQL and RabbitMQ: code schedules (the option and
 * `@CeleryTask({ schedule })`) are written to django-celery-beat's tables and fired as Celery
 * beat's messages (with a periodic_task_name header); rows an admin inserts or edits take effect
 * within a second; last_run_at and total_run_count are exact; a clocked one-off fires once.
 */
/** A sample's value in Prometheus' text format, e.g. `celery_beat_fires_total{name="x"}`. */
function metricSample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('beat (periodic tasks)', () => {
  let env: TestEnvironment;
  let amqp: ChannelModel;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-beat');
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await amqp?.close();
    await env?.dispose();
  });

  async function takeMessages(queue: string): Promise<GetMessage[]> {
    const channel = await amqp.createChannel();
    channel.on('error', () => undefined);
    try {
      const messages: GetMessage[] = [];
      for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) messages.push(message);
      return messages;
    } catch {
      return [];
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);

  it('fires code schedules as Celery beat messages, records each run, and applies admin edits within a second', async () => {
    const decoratedQueue = `${env.queue}-decorated`;
    const adminQueue = `${env.queue}-admin`;
    env.alsoRemove(decoratedQueue, adminQueue);

    @Injectable()
    class ReportTasks {
      @CeleryTask({ name: 'beat.reports.tick', queue: decoratedQueue, schedule: { schedule: 1, args: ['from-decorator'] } })
      tick(source: string) {
        return source;
      }
    }

    const app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        worker: false,
        beat: {
          url: env.databaseUrl,
          scheduler: 'django',
          schedule: {
            'every-second': { task: 'beat.tasks.add', schedule: 1, args: [2, 3], kwargs: { z: 1 }, options: { queue: env.queue, headers: { tenant: 'acme' } } },
          },
        },
      },
      [ReportTasks],
    );
    apps.push(app);

    const first = await eventually(async () => {
      const messages = await takeMessages(env.queue);
      return messages.length > 0 ? messages[0] : undefined;
    }, 5000, 'the first fire of every-second');
    const headers = first.properties.headers!;
    expect(headers).toMatchObject({ task: 'beat.tasks.add', periodic_task_name: 'every-second', tenant: 'acme' });
    expect(JSON.parse(first.content.toString())).toEqual([[2, 3], { z: 1 }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(first.properties.contentType).toBe('application/json');

    const decorated = await eventually(async () => (await takeMessages(decoratedQueue))[0], 5000, 'the decorated schedule');
    expect(decorated.properties.headers).toMatchObject({ task: 'beat.reports.tick', periodic_task_name: 'beat.reports.tick' });
    expect(JSON.parse(decorated.content.toString())[0]).toEqual(['from-decorator']);

    const rows = await sql(`SELECT t.name, t.task, t.enabled, t.total_run_count, t.last_run_at, i.every, i.period FROM django_celery_beat_periodictask t JOIN django_celery_beat_intervalschedule i ON i.id = t.interval_id ORDER BY t.name`);
    expect(rows.map((row) => [row.name, row.task, row.every, row.period, row.enabled])).toEqual([
      ['beat.reports.tick', 'beat.reports.tick', 1, 'seconds', true],
      ['every-second', 'beat.tasks.add', 1, 'seconds', true],
    ]);

    // total_run_count counts exactly the messages published.
    await takeMessages(env.queue);
    await sql(`UPDATE django_celery_beat_periodictask SET enabled = false WHERE name = 'every-second'`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a disabled schedule must stay silent: nothing to wait for
    const countBefore = Number((await sql(`SELECT total_run_count FROM django_celery_beat_periodictask WHERE name = 'every-second'`))[0].total_run_count);
    const silent = await takeMessages(env.queue);
    expect(silent.length).toBeLessThanOrEqual(1); // one may have been committed as the UPDATE landed
    await sql(`UPDATE django_celery_beat_periodictask SET enabled = true WHERE name = 'every-second'`);
    await eventually(async () => (Number((await sql(`SELECT total_run_count FROM django_celery_beat_periodictask WHERE name = 'every-second'`))[0].total_run_count) >= countBefore + 2 ? true : undefined), 5000, 'fires again once enabled');

    // A row an admin adds (as Django's ORM writes it) fires within about a second, on its queue, with its headers and priority.
    const [clocked] = await sql(`INSERT INTO django_celery_beat_clockedschedule (clocked_time) VALUES (now() + interval '1 second') RETURNING id`);
    const insertedAt = Date.now();
    await sql(
      `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, exchange, routing_key, priority, headers, enabled, total_run_count, date_changed, description, one_off, clocked_id)
       VALUES ('admin-once', 'beat.admin.once', '[7]', '{"k": "v"}', $1, NULL, NULL, 3, '{"origin_admin": true}', true, 0, now(), '', true, $2)`,
      [adminQueue, clocked.id],
    );
    const once = await eventually(async () => (await takeMessages(adminQueue))[0], 5000, 'the admin clocked one-off');
    expect(Date.now() - insertedAt).toBeLessThan(3000);
    expect(once.properties.headers).toMatchObject({ task: 'beat.admin.once', periodic_task_name: 'admin-once', origin_admin: true });
    expect(once.properties.priority).toBe(3);
    expect(JSON.parse(once.content.toString()).slice(0, 2)).toEqual([[7], { k: 'v' }]);
    const [onceRow] = await sql(`SELECT enabled, total_run_count FROM django_celery_beat_periodictask WHERE name = 'admin-once'`);
    expect(onceRow).toEqual({ enabled: false, total_run_count: 1 });
  }, 60_000);

  it("writes code solar schedules to django-celery-beat's solar table and fires an admin's solar row whose event has passed", async () => {
    const solarQueue = `${env.queue}-solar`;
    env.alsoRemove(solarQueue);
    const [solarRow] = await sql(`INSERT INTO django_celery_beat_solarschedule (event, latitude, longitude) VALUES ('sunset', 40.712800, -74.006000) RETURNING id`);
    // Last run two days ago: a sunset in New York has passed since, so the row is due at once (a missed run, caught up once).
    await sql(
      `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, headers, enabled, total_run_count, date_changed, description, one_off, solar_id, last_run_at)
       VALUES ('admin-sunset', 'beat.admin.sunset', '[]', '{}', $1, '{}', true, 0, now(), '', false, $2, now() - interval '2 days')`,
      [solarQueue, solarRow.id],
    );
    const app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        worker: false,
        beat: {
          url: env.databaseUrl,
          scheduler: 'django',
          schedule: { 'noon-paris': { task: 'beat.solar.noon', schedule: { solar: { event: 'solar_noon', latitude: 48.8566123456, longitude: 2.3522 } }, options: { queue: solarQueue } } },
        },
      },
      [],
    );
    apps.push(app);

    const fired = await eventually(async () => (await takeMessages(solarQueue))[0], 5000, 'the admin solar row');
    expect(fired.properties.headers).toMatchObject({ task: 'beat.admin.sunset', periodic_task_name: 'admin-sunset' });
    const [after] = await sql(`SELECT total_run_count, last_run_at > now() - interval '1 minute' AS ran_now FROM django_celery_beat_periodictask WHERE name = 'admin-sunset'`);
    expect(after).toEqual({ total_run_count: 1, ran_now: true });
    // Once: the next sunset is hours away.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await takeMessages(solarQueue)).toEqual([]);

    const [written] = await sql(
      `SELECT s.event, s.latitude::text AS latitude, s.longitude::text AS longitude, t.total_run_count FROM django_celery_beat_periodictask t JOIN django_celery_beat_solarschedule s ON s.id = t.solar_id WHERE t.name = 'noon-paris'`,
    );
    expect(written).toEqual({ event: 'solar_noon', latitude: '48.856612', longitude: '2.352200', total_run_count: 0 });
  }, 60_000);

  it('counts each fire and its lag in metrics, and a clocked one-off of the code stays fired across a restart', async () => {
    // The beats of the tests before still run on this database and would claim some of these
    // rows' runs (every beat fires every row, each run once): this beat must be the only one for
    // its own counter to see every fire.
    for (const app of apps.splice(0)) await app.close();
    const queue = `${env.queue}-metrics`;
    env.alsoRemove(queue);
    const schedule = {
      'metrics-every-second': { task: 'beat.metrics.tick', schedule: 1, options: { queue } },
      'metrics-once': { task: 'beat.metrics.once', schedule: { clocked: new Date(Date.now() + 1000) }, options: { queue } },
    };
    const start = (registry: Registry) => startCeleryApp({ broker: RABBITMQ_URL, worker: false, metrics: { registry }, beat: { url: env.databaseUrl, schedule } });
    const runsOf = async (name: string) => Number((await sql(`SELECT total_run_count FROM django_celery_beat_periodictask WHERE name = $1`, [name]))[0].total_run_count);
    const registry = new Registry();
    const first = await start(registry);
    apps.push(first);
    const fires = await eventually(async () => {
      const value = metricSample(await registry.metrics(), 'celery_beat_fires_total{name="metrics-every-second"}');
      return value !== undefined && value >= 2 ? value : undefined;
    }, 30_000, 'two fires counted');
    expect(metricSample(await registry.metrics(), 'celery_beat_fire_lag_seconds_count{name="metrics-every-second"}')).toBeGreaterThanOrEqual(fires);
    await eventually(async () => ((await runsOf('metrics-once')) === 1 ? true : undefined), 30_000, 'the clocked one-off fired');
    await first.close();

    const second = await start(new Registry());
    apps.push(second);
    const before = await runsOf('metrics-every-second');
    await eventually(async () => ((await runsOf('metrics-every-second')) >= before + 2 ? true : undefined), 30_000, 'the restarted beat firing');
    expect(await runsOf('metrics-once')).toBe(1);
    const messages = await takeMessages(queue);
    expect(messages.filter((message) => message.properties.headers?.periodic_task_name === 'metrics-once')).toHaveLength(1);
    await second.close();
  }, 120_000);

  it("runs celery.backend_cleanup, Celery's daily result cleanup, when Python Celery sends it", async () => {
    @Injectable()
    class NoopTasks {
      @CeleryTask({ name: 'beat.cleanup.noop' })
      noop() {
        return null;
      }
    }
    const cleanupQueue = `${env.queue}-cleanup`;
    env.alsoRemove(cleanupQueue);
    const app = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: { type: 'postgres', url: env.databaseUrl, resultExpiresSeconds: 3600 }, defaultQueue: cleanupQueue },
      [NoopTasks],
    );
    apps.push(app);
    await sql(`INSERT INTO celery_taskmeta (id, task_id, status, result, date_done) VALUES (nextval('task_id_sequence'), 'expired-1', 'SUCCESS', NULL, now() - interval '2 hours'), (nextval('task_id_sequence'), 'fresh-1', 'SUCCESS', NULL, now())`);
    await runPython(`
from celery import Celery
app = Celery(broker='${RABBITMQ_URL}', backend='${celeryDatabaseUrl(env.databaseUrl)}')
result = app.send_task('celery.backend_cleanup', queue='${cleanupQueue}')
print(result.get(timeout=20))
`);
    const left = await sql(`SELECT task_id FROM celery_taskmeta WHERE task_id IN ('expired-1', 'fresh-1') ORDER BY task_id`);
    expect(left.map((row) => row.task_id)).toEqual(['fresh-1']);
  }, 60_000);
});

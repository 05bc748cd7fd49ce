import { INestApplicationContext } from '@nestjs/common';
import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The beat on django-celery-beat tables of a later shape than 2.4.0's: released 2.5–2.9 add no
 * column, so the variant here is the one proposed upstream since (celery/django-celery-beat
 * 9501002, 85a700a): `PeriodicTasks.last_update` renamed `last_change_marker`, `updated_at` on
 * every schedule table, `PeriodicTask.from_configuration` NOT NULL without a database default
 * (Django drops the default it adds a field with). The beat must read and write that schema, and
 * refuse at start-up, saying what to do, one it cannot write or read.
 */
describe("beat on later django-celery-beat schemas", () => {
  let env: TestEnvironment;
  let amqp: ChannelModel;

  beforeAll(async () => {
    env = await createTestEnvironment('it-beat-schema');
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    await amqp?.close();
    await env?.dispose();
  });

  const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);

  async function takeMessage(queue: string): Promise<GetMessage | undefined> {
    const channel = await amqp.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.assertQueue(queue, { durable: true });
      return (await channel.get(queue, { noAck: true })) || undefined;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  const beatOptions = (schedule: Record<string, unknown>) => ({
    broker: RABBITMQ_URL,
    worker: false as const,
    beat: { url: env.databaseUrl, scheduler: 'django' as const, schedule: schedule as never },
  });

  it('reads and writes the later schema: change marker renamed, updated_at stamped, from_configuration set for code rows', async () => {
    // Our migration makes 2.4.0's tables; then the later migrations, as Django would apply them.
    const first = await startCeleryApp(beatOptions({}));
    await first.close();
    await sql(`ALTER TABLE django_celery_beat_periodictasks RENAME COLUMN last_update TO last_change_marker`);
    for (const table of ['clockedschedule', 'crontabschedule', 'intervalschedule', 'solarschedule']) {
      await sql(`ALTER TABLE django_celery_beat_${table} ADD COLUMN updated_at timestamp with time zone NULL`);
    }
    await sql(`ALTER TABLE django_celery_beat_periodictask ADD COLUMN from_configuration boolean DEFAULT false NOT NULL`);
    await sql(`ALTER TABLE django_celery_beat_periodictask ALTER COLUMN from_configuration DROP DEFAULT`);

    const app = await startCeleryApp(beatOptions({ 'later-schema': { task: 'beat.tasks.later', schedule: 1, options: { queue: env.queue } } }));
    try {
      const message = await eventually(() => takeMessage(env.queue), 5000, 'a fire of the code schedule on the later schema');
      expect(message.properties.headers).toMatchObject({ task: 'beat.tasks.later', periodic_task_name: 'later-schema' });
      const [row] = await sql(
        `SELECT t.from_configuration, i.updated_at IS NOT NULL AS stamped, m.last_change_marker IS NOT NULL AS marked
           FROM django_celery_beat_periodictask t JOIN django_celery_beat_intervalschedule i ON i.id = t.interval_id
           CROSS JOIN django_celery_beat_periodictasks m WHERE t.name = 'later-schema'`,
      );
      expect(row).toEqual({ from_configuration: true, stamped: true, marked: true });

      // A row a later Django admin saves (from_configuration false) fires too.
      const adminQueue = `${env.queue}-admin`;
      env.alsoRemove(adminQueue);
      const [interval] = await sql(`SELECT id FROM django_celery_beat_intervalschedule WHERE every = 1 AND period = 'seconds'`);
      await sql(
        `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, enabled, total_run_count, date_changed, description, one_off, headers, interval_id, from_configuration)
         VALUES ('admin-later', 'beat.tasks.admin', '[]', '{}', $1, true, 0, now(), '', false, '{}', $2, false)`,
        [adminQueue, interval.id],
      );
      const adminMessage = await eventually(() => takeMessage(adminQueue), 5000, "a fire of the admin's row");
      expect(adminMessage.properties.headers).toMatchObject({ task: 'beat.tasks.admin', periodic_task_name: 'admin-later' });
    } finally {
      await app.close();
    }
  }, 60_000);

  it('refuses at start-up a NOT NULL column it cannot fill, and a column it reads that is gone, saying what to do', async () => {
    await sql(`ALTER TABLE django_celery_beat_periodictask ADD COLUMN owner_team text NOT NULL DEFAULT 'x'`);
    await sql(`ALTER TABLE django_celery_beat_periodictask ALTER COLUMN owner_team DROP DEFAULT`);
    await expect(startCeleryApp(beatOptions({}))).rejects.toThrow(/django_celery_beat_periodictask\.owner_team is NOT NULL with no default.*SET DEFAULT/);
    await sql(`ALTER TABLE django_celery_beat_periodictask DROP COLUMN owner_team`);

    await sql(`ALTER TABLE django_celery_beat_periodictask RENAME COLUMN headers TO message_headers`);
    await expect(startCeleryApp(beatOptions({}))).rejects.toThrow(/django_celery_beat_periodictask has no column headers.*manage\.py migrate django_celery_beat/);
    await sql(`ALTER TABLE django_celery_beat_periodictask RENAME COLUMN message_headers TO headers`);

    // Back to a schema it knows: it starts.
    const app = await startCeleryApp(beatOptions({}));
    await app.close();
  }, 60_000);
});

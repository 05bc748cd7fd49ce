import { Client } from 'pg';
import { INestApplicationContext } from '@nestjs/common';
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually, startCeleryApp } from '../support/celery-app';
import { PYTHON } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const DJANGO_PROJECT = join(__dirname, '..', 'python', 'djproj');

/** Rows still in celery_outbox, by routing key (the queue's name for a queue-routed run): none once a beat stopped. */
async function outboxRowsByQueue(databaseUrl: string): Promise<Map<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ routing_key: string; count: string }>('SELECT routing_key, count(*) FROM celery_outbox GROUP BY routing_key');
    return new Map(rows.map((row) => [row.routing_key, Number(row.count)]));
  } finally {
    await client.end();
  }
}

/** One command of test/python/djproj/beat_admin.py: what a Django admin does, through django-celery-beat 2.4.0's models. */
function admin<T = unknown>(databaseUrl: string, command: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['beat_admin.py', JSON.stringify(command)], { cwd: DJANGO_PROJECT, env: { ...process.env, DJANGO_DATABASE_URL: databaseUrl }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`beat_admin.py ${JSON.stringify(command)} failed (Django 3.2 and python3-django-celery-beat installed?): ${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

interface AdminRow {
  name: string;
  enabled: boolean;
  total_run_count: number;
  last_run_at: string | null;
}

/**
 * Our beat on real django-celery-beat 2.4.0 (Debian's python3-django-celery-beat, Django 3.2):
 * interval, crontab and clocked schedules an admin makes through the ORM fire on their queue (or
 * exchange and routing key), with their args, kwargs, headers, priority and a periodic_task_name
 * header; edits and disabling take effect within about a second; the admin reads exact
 * last_run_at and total_run_count; a clocked one-off fires once. The tables our migration creates
 * are the ones Django's models use.
 */
describe('beat on django-celery-beat 2.4.0', () => {
  let env: TestEnvironment;
  let amqp: ChannelModel;
  let app: INestApplicationContext | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-beat-django');
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await amqp?.close();
    await env?.dispose();
  });

  it("fires an admin's interval, crontab, clocked and routed schedules, applies edits within a second, and keeps the counts exact", async () => {
    await admin(env.databaseUrl, { op: 'migrate' });
    const [intervalQueue, crontabQueue, clockedQueue, routedQueue, exchange] = ['interval', 'crontab', 'clocked', 'routed', 'exchange'].map((suffix) => `${env.queue}-${suffix}`);
    env.alsoRemove(intervalQueue, crontabQueue, clockedQueue, routedQueue, exchange);
    const channel = await amqp.createChannel();
    const received = new Map<string, ConsumeMessage[]>();
    for (const queue of [intervalQueue, crontabQueue, clockedQueue, routedQueue]) {
      await channel.assertQueue(queue, { durable: true });
      received.set(queue, []);
      await channel.consume(queue, (message) => message && received.get(queue)!.push(message), { noAck: true });
    }
    await channel.assertExchange(exchange, 'direct', { durable: true });
    await channel.bindQueue(routedQueue, exchange, 'reports.daily');

    app = await startCeleryApp({ broker: RABBITMQ_URL, worker: false, beat: { url: env.databaseUrl, scheduler: 'django' } });
    await admin(env.databaseUrl, { op: 'create', name: 'admin-crontab', task: 'dj.crontab', schedule: { crontab: { minute: '*', hour: '*', day_of_week: '*', day_of_month: '*', month_of_year: '*', timezone: 'Europe/Paris' } }, queue: crontabQueue });
    await admin(env.databaseUrl, { op: 'create', name: 'admin-interval', task: 'dj.interval', schedule: { interval: [1, 'seconds'] }, args: [1, 2], kwargs: { a: 1 }, headers: { h: 'x' }, priority: 5, queue: intervalQueue });
    await admin(env.databaseUrl, { op: 'create', name: 'admin-clocked', task: 'dj.clocked', schedule: { clocked_in_seconds: 2 }, one_off: true, queue: clockedQueue });
    await admin(env.databaseUrl, { op: 'create', name: 'admin-routed', task: 'dj.routed', schedule: { interval: [1, 'seconds'] }, exchange, routing_key: 'reports.daily' });

    const interval = await eventually(() => received.get(intervalQueue)![0], 5000, 'the interval schedule');
    expect(interval.properties.headers).toMatchObject({ task: 'dj.interval', periodic_task_name: 'admin-interval', h: 'x' });
    expect(interval.properties.priority).toBe(5);
    expect(JSON.parse(interval.content.toString()).slice(0, 2)).toEqual([[1, 2], { a: 1 }]);
    const routed = await eventually(() => received.get(routedQueue)![0], 5000, 'the schedule with an exchange and a routing key');
    expect(routed.fields).toMatchObject({ exchange, routingKey: 'reports.daily' });
    expect(routed.properties.headers).toMatchObject({ task: 'dj.routed', periodic_task_name: 'admin-routed' });
    await eventually(() => received.get(clockedQueue)![0], 6000, 'the clocked schedule');

    // An edit through the ORM reaches the beat by NOTIFY: the next fire carries the new args.
    // Timed from the admin's commit (the Python process that makes it takes a while to start and exit).
    await admin(env.databaseUrl, { op: 'update', name: 'admin-interval', fields: { args: [9] } });
    const editedAt = Date.now();
    const edited = await eventually(() => received.get(intervalQueue)!.find((message) => JSON.parse(message.content.toString())[0][0] === 9), 5000, 'a fire with the new args');
    expect(edited.properties.headers).toMatchObject({ periodic_task_name: 'admin-interval' });
    expect(Date.now() - editedAt).toBeLessThan(2500);

    const crontab = await eventually(() => received.get(crontabQueue)![0], 65_000, 'the crontab schedule (at the next minute)');
    expect(new Date().getUTCSeconds()).toBeLessThan(10); // fired at the minute (received within seconds, on a busy machine)
    expect(crontab.properties.headers).toMatchObject({ task: 'dj.crontab', periodic_task_name: 'admin-crontab' });

    // Disabled through the ORM: silent from then on (one fire may have been committed as the admin saved).
    await admin(env.databaseUrl, { op: 'update', name: 'admin-interval', fields: { enabled: false } });
    await admin(env.databaseUrl, { op: 'update', name: 'admin-routed', fields: { enabled: false } });
    const afterDisable = received.get(intervalQueue)!.length;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // silence cannot be waited for
    expect(received.get(intervalQueue)!.length - afterDisable).toBeLessThanOrEqual(1);

    await app.close();
    app = undefined;
    // The admin reads exact counts: one run recorded per message delivered; the clocked one-off ran once and is off.
    const rows = await admin<AdminRow[]>(env.databaseUrl, { op: 'read' });
    const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
    // A run published just before close may still be on its way to this test's consumer: wait for
    // the count of each queue to reach its row's (more messages than runs, or fewer, still fail).
    for (const [name, queue] of [['admin-interval', intervalQueue], ['admin-routed', routedQueue], ['admin-crontab', crontabQueue]] as const) {
      await eventually(() => (received.get(queue)!.length >= byName[name].total_run_count ? true : undefined), 5000, `every run of ${name} received`).catch(() => undefined);
    }
    // The beat's stop waits for its last cycle, then relays what it committed: nothing stays in celery_outbox.
    expect(await outboxRowsByQueue(env.databaseUrl)).toEqual(new Map());
    expect(byName['admin-interval'].total_run_count).toBe(received.get(intervalQueue)!.length);
    expect(byName['admin-routed'].total_run_count).toBe(received.get(routedQueue)!.length);
    expect(byName['admin-crontab'].total_run_count).toBe(received.get(crontabQueue)!.length);
    expect(byName['admin-clocked']).toMatchObject({ enabled: false, total_run_count: 1 });
    expect(received.get(clockedQueue)).toHaveLength(1);
    expect(byName['admin-interval'].last_run_at).not.toBeNull();
    await channel.close();

    // Restarted, the beat does not fire the clocked one-off again.
    app = await startCeleryApp({ broker: RABBITMQ_URL, worker: false, beat: { url: env.databaseUrl, scheduler: 'django' } });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // silence cannot be waited for
    expect((await admin<AdminRow[]>(env.databaseUrl, { op: 'read' })).find((row) => row.name === 'admin-clocked')).toMatchObject({ total_run_count: 1, enabled: false });
  }, 150_000);

  it("keeps a run recorded while an admin's form was open: the stale save neither uncounts it nor fires the schedule again", async () => {
    const own = await createTestEnvironment('it-beat-stale');
    const channel = await amqp.createChannel();
    let beat: INestApplicationContext | undefined;
    try {
      await admin(own.databaseUrl, { op: 'migrate' });
      await channel.assertQueue(own.queue, { durable: true });
      const messages: ConsumeMessage[] = [];
      await channel.consume(own.queue, (message) => message && messages.push(message), { noAck: true });
      await admin(own.databaseUrl, { op: 'create', name: 'stale-form', task: 'dj.stale', schedule: { interval: [1, 'seconds'] }, args: [1], queue: own.queue });
      beat = await startCeleryApp({ broker: RABBITMQ_URL, worker: false, beat: { url: own.databaseUrl, scheduler: 'django' } });
      await eventually(() => messages[0], 5000, 'a first fire');

      // Django's PeriodicTask.get() … save(), saved once the beat recorded a run after the read.
      const saved = await admin<{ read: number; recorded: number; recorded_last_run_at: string }>(own.databaseUrl, { op: 'stale-update', name: 'stale-form', fields: { args: [2] } });
      expect(saved.recorded).toBeGreaterThan(saved.read);
      const [afterSave] = await admin<AdminRow[]>(own.databaseUrl, { op: 'read' });
      expect(afterSave.total_run_count).toBeGreaterThanOrEqual(saved.recorded);
      expect(Date.parse(afterSave.last_run_at!)).toBeGreaterThanOrEqual(Date.parse(saved.recorded_last_run_at));
      await eventually(() => messages.find((message) => JSON.parse(message.content.toString())[0][0] === 2), 5000, 'a fire with the new args');

      await beat.close();
      beat = undefined;
      // A rewound last_run_at would have fired the schedule again at once: one more message than runs.
      const [row] = await admin<AdminRow[]>(own.databaseUrl, { op: 'read' });
      await eventually(() => (messages.length >= row.total_run_count ? true : undefined), 5000, 'every run received').catch(() => undefined);
      expect(messages).toHaveLength(row.total_run_count);
    } finally {
      await beat?.close().catch(() => undefined);
      await channel.close();
      await own.dispose();
    }
  }, 60_000);

  it("creates django-celery-beat's tables as Django's models use them, and Django adopts them with migrate --fake", async () => {
    const own = await createTestEnvironment('it-beat-tables');
    try {
      const beat = await startCeleryApp({
        broker: RABBITMQ_URL,
        worker: false,
        beat: { url: own.databaseUrl, schedule: { 'code-report': { task: 'reports.build', schedule: { crontab: { minute: 30, hour: 4, dayOfWeek: 'mon-fri' } }, kwargs: { kind: 'daily' } } } },
      });
      await beat.close();
      await admin(own.databaseUrl, { op: 'migrate', fake: true });
      await admin(own.databaseUrl, { op: 'create', name: 'admin-made', task: 'dj.task', schedule: { interval: [5, 'minutes'] } });
      const rows = await admin<AdminRow[]>(own.databaseUrl, { op: 'read' });
      expect(rows.map((row) => [row.name, row.enabled, row.total_run_count])).toEqual([
        ['admin-made', true, 0],
        ['code-report', true, 0],
      ]);
    } finally {
      await own.dispose();
    }
  }, 60_000);

  it("sends the message Python's beat (django_celery_beat DatabaseScheduler) sends for the same row, plus periodic_task_name", async () => {
    const own = await createTestEnvironment('it-beat-python');
    const channel = await amqp.createChannel();
    await admin(own.databaseUrl, { op: 'migrate' });
    await channel.assertQueue(own.queue, { durable: true });
    const messages: ConsumeMessage[] = [];
    await channel.consume(own.queue, (message) => message && messages.push(message), { noAck: true });
    await admin(own.databaseUrl, { op: 'create', name: 'same-row', task: 'dj.same', schedule: { interval: [1, 'seconds'] }, args: [4], kwargs: { b: 2 }, headers: { tenant: 't' }, priority: 2, queue: own.queue });
    const python = spawn(PYTHON, ['-m', 'celery', '-A', 'djproj', 'beat', '-S', 'django_celery_beat.schedulers:DatabaseScheduler', '-l', 'info', '--max-interval', '1'], {
      cwd: DJANGO_PROJECT,
      env: { ...process.env, DJANGO_SETTINGS_MODULE: 'djproj.beat_settings', DJANGO_DATABASE_URL: own.databaseUrl, DJANGO_CELERY_BROKER_URL: RABBITMQ_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pythonOutput = '';
    python.stdout.on('data', (chunk: Buffer) => (pythonOutput += chunk.toString()));
    python.stderr.on('data', (chunk: Buffer) => (pythonOutput += chunk.toString()));
    try {
      const fromPython = await eventually(() => messages[0], 30_000, `a fire of Python's beat (its output: ${pythonOutput.slice(-500)})`);
      python.kill('SIGTERM');
      await new Promise((resolve) => python.once('exit', resolve));
      messages.length = 0;
      const nest = await startCeleryApp({ broker: RABBITMQ_URL, worker: false, beat: { url: own.databaseUrl, scheduler: 'django' } });
      try {
        const fromNest = await eventually(() => messages[0], 5000, 'a fire of our beat');
        const { headers: pythonHeaders, ...pythonProperties } = fromPython.properties;
        const { headers: nestHeaders, ...nestProperties } = fromNest.properties;
        const defined = (properties: object) => Object.keys(properties).filter((key) => (properties as Record<string, unknown>)[key] !== undefined).sort();
        expect(defined(nestProperties)).toEqual(defined(pythonProperties));
        for (const key of ['contentType', 'contentEncoding', 'deliveryMode', 'priority'] as const) expect(nestProperties[key]).toEqual(pythonProperties[key]);
        // Celery 5.2.6 drops periodic_task_name on RabbitMQ; we send it, and every header Python's beat sends.
        expect(Object.keys(nestHeaders!).sort()).toEqual([...Object.keys(pythonHeaders!), 'periodic_task_name'].sort());
        // Values too, but `lang` (ours says 'js', as every message this module sends) and the ids, origin, reply queue.
        for (const key of ['task', 'tenant', 'retries', 'eta', 'expires', 'group', 'group_index', 'timelimit', 'ignore_result', 'shadow']) {
          expect([key, nestHeaders![key]]).toEqual([key, pythonHeaders![key]]);
        }
        expect(JSON.parse(fromNest.content.toString())).toEqual(JSON.parse(fromPython.content.toString()));
        expect(fromNest.fields).toMatchObject({ exchange: fromPython.fields.exchange, routingKey: fromPython.fields.routingKey });
      } finally {
        await nest.close();
      }
    } finally {
      python.kill('SIGKILL');
      await channel.close().catch(() => undefined);
      await own.dispose();
    }
  }, 90_000);
});

import { INestApplication } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { CeleryClient } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { eventually } from '../support/celery-app';
import { dashboardRequest, startDashboardApp } from '../support/dashboard-app';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

interface QueueRow {
  name: string;
  messages: number | null;
  consumers: string[];
  pausedOn: string[];
}

/**
 * The dashboard's queues page and worker page (what Flower's broker tab and worker page give,
 * without RabbitMQ's management plugin): depth, consumers and rate per queue, pause and resume
 * through Celery's cancel_consumer / add_consumer, and a worker described by remote control —
 * ours and a Python one alike.
 */
describe('Dashboard queues and worker pages', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  let python: PythonWorker | undefined;
  let pythonQueue: string;
  const hostname = `${uniqueName('dash-queues')}@${osHostname()}`;

  const api = (path: string, init?: Parameters<typeof dashboardRequest>[1]) => dashboardRequest(`${url}/api/${path}`, init);
  const queueRow = async (name: string): Promise<QueueRow | undefined> => ((await api('queues')).body as QueueRow[]).find((row) => row.name === name);

  beforeAll(async () => {
    env = await createTestEnvironment('it-dash-queues');
    pythonQueue = `${env.queue}-py`;
    env.alsoRemove(pythonQueue);
    ({ app, url } = await startDashboardApp(
      celeryOptionsFromEnvironment({ CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname }, { worker: true }),
    ));
    python = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: env.queue });
  }, 90_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it('lists each queue with its depth and the workers consuming it, Python ones included', async () => {
    const ours = await eventually(() => queueRow(env.queue), 15_000, 'our queue listed');
    expect(ours).toMatchObject({ messages: 0, consumers: [hostname], pausedOn: [] });
    const theirs = await eventually(() => queueRow(pythonQueue), 15_000, 'the Python queue listed');
    expect(theirs).toMatchObject({ messages: 0, consumers: [python!.nodename] });
  });

  it('pauses a queue (cancel_consumer): tasks wait in it; resumes it (add_consumer): they run', async () => {
    const paused = await api(`queues/${encodeURIComponent(env.queue)}/pause`, { method: 'POST', body: { worker: hostname } });
    expect(paused.status).toBe(201);
    expect(paused.body.replies).toEqual([{ [hostname]: { ok: `no longer consuming from ${env.queue}` } }]);
    expect(await queueRow(env.queue)).toMatchObject({ consumers: [], pausedOn: [hostname] });

    const celery = app!.get(CeleryClient);
    const waiting = await celery.send('tasks.add', [20, 22], { queue: env.queue });
    await eventually(async () => ((await queueRow(env.queue))?.messages === 1 ? true : undefined), 10_000, 'the task waiting in the paused queue');

    const resumed = await api(`queues/${encodeURIComponent(env.queue)}/resume`, { method: 'POST', body: { worker: hostname } });
    expect(resumed.body.replies).toEqual([{ [hostname]: { ok: expect.stringContaining(env.queue) } }]);
    await expect(waiting.get({ timeout: 15_000 })).resolves.toBe(42);
    expect(await queueRow(env.queue)).toMatchObject({ messages: 0, consumers: [hostname], pausedOn: [] });
  });

  it('describes one of our workers: registered tasks with their limits, queues, pool, configuration with passwords masked', async () => {
    const { status, body } = await api(`workers/${encodeURIComponent(hostname)}`);
    expect(status).toBe(200);
    expect(body.registered).toEqual(expect.arrayContaining(['tasks.add', 'tasks.sleep [soft_time_limit=30]']));
    expect(body.activeQueues.map((queue: { name: string }) => queue.name)).toContain(env.queue);
    expect(body.stats.pool).toMatchObject({ 'max-concurrency': expect.any(Number) });
    expect(body.conf.broker_url).toBe(RABBITMQ_URL.replace(':guest@', ':***@'));
    expect(JSON.stringify(body)).not.toContain('guest:guest');
  });

  it('describes a Python worker the same way, and says when a worker does not answer', async () => {
    const { status, body } = await api(`workers/${encodeURIComponent(python!.nodename)}`);
    expect(status).toBe(200);
    expect(body.registered).toEqual(expect.arrayContaining(['py.upper']));
    expect(body.activeQueues.map((queue: { name: string }) => queue.name)).toEqual([pythonQueue]);
    expect(body.stats.pool).toMatchObject({ 'max-concurrency': expect.any(Number) });
    const missing = await api(`workers/${encodeURIComponent('nobody@nowhere')}`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/did not answer/);
  });
});

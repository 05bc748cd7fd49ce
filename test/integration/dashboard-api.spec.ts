import { INestApplication } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { CeleryClient } from '../../lib';
import { CeleryDashboard } from '../../lib/dashboard';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { eventually } from '../support/celery-app';
import { DASHBOARD_AUTHORIZATION, dashboardRequest, startDashboardApp } from '../support/dashboard-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

describe('Dashboard JSON API on real RabbitMQ and PostgreSQL', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  const hostname = `${uniqueName('dash-api')}@${osHostname()}`;
  const ids: Record<string, string> = {};

  const options = () =>
    celeryOptionsFromEnvironment(
      { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname, CELERY_WORKER_SEND_TASK_EVENTS: 'true' },
      { worker: true },
    );
  const api = (path: string, init?: Parameters<typeof dashboardRequest>[1]) => dashboardRequest(`${url}/api/${path}`, init);
  const finished = (id: string) =>
    eventually(async () => {
      const { status, body } = await api(`tasks/${id}`);
      return status === 200 && ['SUCCESS', 'FAILURE', 'REVOKED'].includes(body.state) ? body : undefined;
    }, 30_000, `task ${id} finished on the dashboard`);

  beforeAll(async () => {
    env = await createTestEnvironment('it-dash-api');
    ({ app, url } = await startDashboardApp(options()));
    const celery = app.get(CeleryClient);
    ids.add = (await celery.send('tasks.add', [2, 3])).id;
    ids.fail = (await celery.send('tasks.fail', ['bad input from postgresql://alice:hunter2@db.example/app'])).id;
    ids.echo = (await celery.send('tasks.echo', [{ k: 'v' }])).id;
    for (const id of Object.values(ids)) await finished(id);
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('refuses every route without credentials (the app guard), asking for Basic authentication', async () => {
    for (const path of ['', '/api/workers', '/api/tasks', '/api/stream', '/static/dashboard.js']) {
      const { status, headers } = await dashboardRequest(`${url}${path}`, { authorized: false });
      expect({ path, status }).toEqual({ path, status: 401 });
      expect(headers.get('www-authenticate')).toContain('Basic');
    }
    expect((await api(`tasks/${ids.add}/revoke`, { method: 'POST', authorized: false })).status).toBe(401);
  });

  it('serves the page and its scripts, chart.js included', async () => {
    const page = await dashboardRequest(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("window.DASHBOARD_BASE = '/celery'");
    const chart = await dashboardRequest(`${url}/static/chart.umd.js`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get('content-type')).toContain('javascript');
    expect((await dashboardRequest(`${url}/static/..%2Fpackage.json`)).status).toBe(404);
  });

  it('lists the worker and masks connection strings everywhere', async () => {
    const workers = await api('workers');
    expect(workers.body).toEqual(expect.arrayContaining([expect.objectContaining({ hostname, online: true, swIdent: 'nestjs-celery' })]));
    const overview = await api('overview');
    expect(overview.body.broker).toContain('guest:***@');
    expect(JSON.stringify(overview.body)).not.toMatch(/guest:guest/);
    expect(overview.body.history).toContain('celery_task_history');
    const failed = await api(`tasks/${ids.fail}`);
    expect(failed.body.args).toContain('postgresql://alice:***@db.example/app');
    expect(JSON.stringify(failed.body)).not.toContain('hunter2');
  });

  it('filters tasks by name, state, worker, time range and limit', async () => {
    const list = async (query: string) => ((await api(`tasks?${query}`)).body.tasks as { uuid: string }[]).map((task) => task.uuid);
    // The broker is shared: other workers' events reach this dashboard too, so each query also names our worker.
    const ours = `worker=${encodeURIComponent(hostname)}`;
    expect(await list(`state=FAILURE&${ours}`)).toEqual([ids.fail]);
    expect(await list(`state=failure&${ours}`)).toEqual([ids.fail]);
    expect(await list(`name=ECHO&${ours}`)).toEqual([ids.echo]);
    expect((await list(`worker=${encodeURIComponent(hostname)}`)).sort()).toEqual(Object.values(ids).sort());
    expect(await list('worker=nobody%40nowhere')).toEqual([]);
    const now = Date.now() / 1000;
    expect(await list(`from=${now + 60}&${ours}`)).toEqual([]);
    expect((await list(`from=${new Date((now - 600) * 1000).toISOString()}&to=${now + 1}&${ours}`)).sort()).toEqual(Object.values(ids).sort());
    expect(await list(`limit=1&${ours}`)).toHaveLength(1);
    expect((await api('tasks')).body.names).toEqual(expect.arrayContaining(['tasks.add', 'tasks.fail', 'tasks.echo']));
  });

  it('gives a task in full: args, kwargs, result, exception, traceback, retries, timeline', async () => {
    const add = (await api(`tasks/${ids.add}`)).body;
    expect(add).toMatchObject({ name: 'tasks.add', state: 'SUCCESS', args: '(2, 3)', kwargs: '{}', result: '5', retries: 0, worker: hostname });
    expect(add.timeline.map((entry: { type: string }) => entry.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    const fail = (await api(`tasks/${ids.fail}`)).body;
    expect(fail).toMatchObject({ state: 'FAILURE', exception: expect.stringContaining('bad input') });
    expect(fail.traceback).toContain('bad input');
    expect((await api('tasks/no-such-task')).status).toBe(404);
  });

  it('counts throughput and failure rate in the series', async () => {
    const points = (await api('series?window=600&bucket=60')).body as { succeeded: number; failed: number; failureRate: number }[];
    expect(points).toHaveLength(10);
    const succeeded = points.reduce((sum, point) => sum + point.succeeded, 0);
    const failed = points.reduce((sum, point) => sum + point.failed, 0);
    // At least ours (other workers on the shared broker may add theirs).
    expect(succeeded).toBeGreaterThanOrEqual(2);
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(points.some((point) => point.failureRate > 0)).toBe(true);
  });

  it('streams live updates over server-sent events, and an open stream does not hold up shutdown', async () => {
    const response = await fetch(`${url}/api/stream`, { headers: { authorization: DASHBOARD_AUTHORIZATION } });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const sent = await app!.get(CeleryClient).send('tasks.add', [7, 8]);
    let text = '';
    await eventually(async () => {
      const { value } = await reader.read();
      text += Buffer.from(value ?? new Uint8Array()).toString('utf8');
      return text.includes('event: task') && text.includes(sent.id) && text.includes('"SUCCESS"') ? true : undefined;
    }, 20_000, 'the task on the stream');
    expect(text).toContain('event: workers');
    // Left open on purpose: the restart below closes the app with this stream connected.
  });

  it('answers bad input with 400 and a message naming the field', async () => {
    const cases: [string, Parameters<typeof dashboardRequest>[1], RegExp][] = [
      ['tasks?limit=abc', undefined, /"limit"/],
      ['tasks?from=yesterday', undefined, /"from"/],
      ['tasks?from=20&to=10', undefined, /"from" must not be after "to"/],
      ['series?window=600&bucket=0', undefined, /"bucket"/],
      ['rate-limit', { method: 'POST', body: { rateLimit: '5/s' } }, /"taskName"/],
      ['rate-limit', { method: 'POST', body: { taskName: 'tasks.add', rateLimit: 'fast' } }, /"rateLimit".*Invalid rate limit/],
      ['rate-limit', { method: 'POST', body: { taskName: 'tasks.add', rateLimit: '5/s', worker: 42 } }, /"worker"/],
      ['rate-limit', { method: 'POST', body: [1, 2] }, /JSON object/],
      [`tasks/${ids.add}/revoke`, { method: 'POST', body: { terminate: 'yes' } }, /"terminate"/],
    ];
    for (const [path, init, message] of cases) {
      const { status, body } = await api(path, init);
      expect({ path, status }).toEqual({ path, status: 400 });
      expect(body.message).toMatch(message);
    }
    const retrySuccess = await api(`tasks/${ids.add}/retry`, { method: 'POST' });
    expect(retrySuccess.status).toBe(409);
    expect(retrySuccess.body.message).toMatch(/only FAILURE or REVOKED/);
    expect((await api('workers/nobody%40nowhere/shutdown', { method: 'POST' })).status).toBe(404);
  });

  it('retries a failed task: same name and arguments, a new id', async () => {
    const { status, body } = await api(`tasks/${ids.fail}/retry`, { method: 'POST' });
    expect(status).toBe(202);
    expect(body.taskId).not.toBe(ids.fail);
    const again = await finished(body.taskId);
    expect(again).toMatchObject({ name: 'tasks.fail', state: 'FAILURE', args: (await api(`tasks/${ids.fail}`)).body.args });
  }, 40_000);

  it('keeps the history in PostgreSQL and shows it after a restart, before any new event', async () => {
    await app!.get(CeleryDashboard).flushHistory();
    const rows = await querySql(env.databaseUrl, 'SELECT task_id, state, traceback FROM celery_task_history WHERE task_id = $1', [ids.fail]);
    expect(rows).toEqual([expect.objectContaining({ state: 'FAILURE', traceback: expect.stringContaining('bad input') })]);
    await app!.close();
    app = undefined;
    // Only the most recent task is restored to memory; the others are read from the table on demand.
    ({ app, url } = await startDashboardApp({ ...options(), worker: false }, { maxTasks: 1 }));
    const inMemory = (await api('tasks')).body.tasks.map((task: { uuid: string }) => task.uuid);
    expect(inMemory.length).toBeLessThanOrEqual(1);
    expect(inMemory).not.toContain(ids.fail); // tasks finished after it (the retry, the streamed one) are more recent
    const restored = await api(`tasks/${ids.fail}`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ name: 'tasks.fail', state: 'FAILURE', worker: hostname, exception: expect.stringContaining('bad input') });
    expect(restored.body.timeline.map((entry: { type: string }) => entry.type)).toEqual(['task-received', 'task-started', 'task-failed']);
    expect((await api(`tasks/${ids.add}`)).body).toMatchObject({ state: 'SUCCESS', result: '5' });
    await app!.close();
    app = undefined;
    ({ app, url } = await startDashboardApp({ ...options(), worker: false }));
    expect((await api(`tasks?state=SUCCESS&worker=${encodeURIComponent(hostname)}`)).body.tasks.map((task: { uuid: string }) => task.uuid)).toEqual(expect.arrayContaining([ids.add, ids.echo]));
  }, 60_000);
});

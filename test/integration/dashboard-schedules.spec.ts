import { INestApplication } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { CeleryClient } from '../../lib';
import { eventually } from '../support/celery-app';
import { dashboardRequest, startDashboardApp } from '../support/dashboard-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

interface ScheduleView {
  id: number;
  name: string;
  task: string;
  schedule: string;
  enabled: boolean;
  lastRunAt: string | null;
  totalRunCount: number;
  nextRunAt: string | null;
}

/**
 * The dashboard's schedules page on django-celery-beat's tables, with a beat running in the
 * same app: next and last run, run count, the enabled toggle (the beat stops and resumes firing)
 * and run now.
 */
describe('Dashboard schedules page', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  const hostname = `${uniqueName('dash-beat')}@${osHostname()}`;

  const api = (path: string, init?: Parameters<typeof dashboardRequest>[1]) => dashboardRequest(`${url}/api/${path}`, init);
  const schedule = async (name: string): Promise<ScheduleView | undefined> => ((await api('schedules')).body.schedules as ScheduleView[]).find((row) => row.name === name);

  beforeAll(async () => {
    env = await createTestEnvironment('it-dash-beat');
    ({ app, url } = await startDashboardApp({
      broker: RABBITMQ_URL,
      backend: env.databaseUrl,
      defaultQueue: env.queue,
      worker: { queues: [env.queue], hostname },
      beat: {
        schedule: {
          'add-every-second': { task: 'tasks.add', schedule: 1, args: [1, 2] },
          'add-hourly': { task: 'tasks.add', schedule: 3600, args: [20, 22] },
          'add-hourly-relative': { task: 'tasks.add', schedule: 3600, args: [1, 1], relative: true },
        },
      },
    }));
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('lists the periodic tasks with their schedule, next and last run and run count', async () => {
    const hourly = await eventually(() => schedule('add-hourly'), 15_000, 'the hourly schedule listed');
    expect(hourly).toMatchObject({ task: 'tasks.add', enabled: true, totalRunCount: 0 });
    expect(hourly.schedule).toMatch(/3600|1\.00 hour|hour/);
    expect(Date.parse(hourly.nextRunAt!) - Date.now()).toBeGreaterThan(3_500_000);
    // Celery's relative=True rounds the due time down to the interval's resolution (the hour), as the beat computes it.
    const relative = (await schedule('add-hourly-relative'))!;
    expect(new Date(relative.nextRunAt!).toISOString()).toMatch(/T\d\d:00:00\.000Z$/);
    expect(Date.parse(relative.nextRunAt!)).toBeGreaterThan(Date.now());
    const everySecond = await eventually(async () => {
      const row = await schedule('add-every-second');
      return row && row.totalRunCount >= 2 ? row : undefined;
    }, 15_000, 'the every-second schedule fired twice');
    expect(Date.parse(everySecond.lastRunAt!)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('disables a schedule (the beat stops firing it) and enables it again', async () => {
    const row = (await schedule('add-every-second'))!;
    const disabled = await api(`schedules/${row.id}/enabled`, { method: 'POST', body: { enabled: false } });
    expect(disabled.status).toBe(201);
    expect(disabled.body).toMatchObject({ name: 'add-every-second', enabled: false, nextRunAt: null });
    const countAtDisable = (await schedule('add-every-second'))!.totalRunCount;
    // A window in which an enabled every-second schedule would fire three times: at most the one
    // run a beat had already claimed when the change landed may still be recorded.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const countWhileDisabled = (await schedule('add-every-second'))!.totalRunCount;
    expect(countWhileDisabled - countAtDisable).toBeLessThanOrEqual(1);

    await api(`schedules/${row.id}/enabled`, { method: 'POST', body: { enabled: true } });
    await eventually(async () => ((await schedule('add-every-second'))!.totalRunCount > countWhileDisabled ? true : undefined), 10_000, 'firing again once enabled');
  });

  it('runs a schedule now with its args, without changing its schedule', async () => {
    const hourly = (await schedule('add-hourly'))!;
    const { status, body } = await api(`schedules/${hourly.id}/run`, { method: 'POST' });
    expect(status).toBe(202);
    await expect(app!.get(CeleryClient).asyncResult(body.taskId).get({ timeout: 15_000 })).resolves.toBe(42);
    expect((await schedule('add-hourly'))!).toMatchObject({ totalRunCount: 0, nextRunAt: hourly.nextRunAt });
    const [sent] = await querySql(env.databaseUrl, `SELECT count(*)::int AS n FROM celery_taskmeta WHERE task_id = $1`, [body.taskId]);
    expect(sent.n).toBe(1);
  });

  it('refuses a bad id and an unknown one with a clear message', async () => {
    expect((await api('schedules/abc/run', { method: 'POST' })).body.message).toMatch(/not a periodic task id/);
    const unknown = await api('schedules/999999/enabled', { method: 'POST', body: { enabled: true } });
    expect(unknown.status).toBe(404);
  });
});

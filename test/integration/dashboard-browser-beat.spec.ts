import { INestApplication } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { Browser, Page } from 'playwright-core';
import { CeleryClient } from '../../lib';
import { eventually } from '../support/celery-app';
import { launchChromium } from '../support/chromium';
import { DASHBOARD_PASSWORD, DASHBOARD_USER, startDashboardApp } from '../support/dashboard-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The dashboard's schedules, queues and worker pages driven in a real headless Chromium, on an
 * app that is a worker and a beat: what a click does must take effect — a schedule unticked stops
 * firing and fires again once ticked, "Run now" sends its task, a queue paused from the page holds
 * its tasks until resumed — and the worker page shows what the worker runs and consumes.
 */
describe('Dashboard schedules, queues and worker pages in a real headless Chromium', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  let browser: Browser | undefined;
  let page: Page;
  const hostname = `${uniqueName('dash-ui-beat')}@${osHostname()}`;
  const pageErrors: string[] = [];

  const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);
  const runs = async (name: string) => Number((await sql(`SELECT total_run_count FROM django_celery_beat_periodictask WHERE name = $1`, [name]))[0]?.total_run_count ?? -1);
  /** Opens a view afresh (a reload, so its data is read again). */
  const show = async (view: string) => {
    await page.goto(`${url}#/${view}`);
    await page.reload();
  };

  beforeAll(async () => {
    env = await createTestEnvironment('it-dash-ui-beat');
    ({ app, url } = await startDashboardApp({
      broker: RABBITMQ_URL,
      backend: env.databaseUrl,
      defaultQueue: env.queue,
      worker: { queues: [env.queue], hostname },
      beat: { schedule: { 'add-every-second': { task: 'tasks.add', schedule: 1, args: [1, 2] }, 'add-hourly': { task: 'tasks.add', schedule: 3600, args: [20, 22] } } },
    }));
    browser = await launchChromium();
    const context = await browser.newContext({ httpCredentials: { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD }, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await env?.dispose();
  });

  it('unticking a schedule stops its runs, ticking it again resumes them', async () => {
    await eventually(async () => ((await runs('add-every-second')) >= 1 ? true : undefined), 15_000, 'the every-second schedule fired');
    await show('schedules');
    const row = page.locator('tr[data-schedule="add-every-second"]');
    await row.waitFor();
    await expect(row.locator('input.enabled').isChecked()).resolves.toBe(true);

    await row.locator('input.enabled').uncheck();
    await page.locator('#schedules-result', { hasText: 'add-every-second disabled' }).waitFor();
    expect((await sql(`SELECT enabled FROM django_celery_beat_periodictask WHERE name = 'add-every-second'`))[0].enabled).toBe(false);
    // The beat takes the change within a second (NOTIFY); from then on the count stands still for
    // 2.5 s, in which an every-second schedule still firing would run at least twice.
    const stopped = await eventually(async () => {
      const before = await runs('add-every-second');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return (await runs('add-every-second')) === before ? before : undefined;
    }, 10_000, 'the unticked schedule to stop firing');

    await show('schedules');
    await expect(row.locator('input.enabled').isChecked()).resolves.toBe(false);
    await row.locator('input.enabled').check();
    await page.locator('#schedules-result', { hasText: 'add-every-second enabled' }).waitFor();
    await eventually(async () => ((await runs('add-every-second')) >= stopped + 2 ? true : undefined), 10_000, 'the ticked schedule to fire again');
    await show('schedules');
    await expect(row.locator('td[data-field="runs"]').textContent()).resolves.not.toBe(String(stopped));
  }, 60_000);

  it('"Run now" sends the task of a schedule not due for an hour, and leaves its schedule alone', async () => {
    await show('schedules');
    const row = page.locator('tr[data-schedule="add-hourly"]');
    await row.locator('button.run-now').click();
    const result = page.locator('#schedules-result', { hasText: 'add-hourly sent now as task' });
    await result.waitFor();
    const taskId = /as task ([0-9a-f-]{36})/.exec((await result.textContent()) ?? '')?.[1];
    expect(taskId).toBeDefined();
    await expect(app!.get(CeleryClient).asyncResult(taskId!).get({ timeout: 15_000 })).resolves.toBe(42);
    expect(await runs('add-hourly')).toBe(0);
  }, 40_000);

  it('pausing a queue from its row holds its tasks; resuming runs them', async () => {
    await show('queues');
    const row = page.locator(`tr[data-queue="${env.queue}"]`);
    await row.locator('[data-field="consumers"]', { hasText: hostname }).waitFor();
    await page.selectOption('#queue-worker', hostname);
    await row.locator('button.pause').click();
    await page.locator('#queue-result', { hasText: `Paused ${env.queue} on 1 worker(s)` }).waitFor();
    await row.locator('[data-field="paused"]', { hasText: hostname }).waitFor();

    // The beat would fill the queue: disable its schedules, then send one task by hand.
    await sql(`UPDATE django_celery_beat_periodictask SET enabled = false`);
    const held = await app!.get(CeleryClient).send('tasks.add', [40, 2]);
    await eventually(async () => {
      await show('queues');
      return (await row.locator('[data-field="messages"]').textContent()) !== '0' ? true : undefined;
    }, 10_000, 'the task waiting in the paused queue');
    await expect(app!.get(CeleryClient).asyncResult(held.id).state()).resolves.toBe('PENDING');

    await page.selectOption('#queue-worker', hostname);
    await row.locator('button.resume').click();
    await page.locator('#queue-result', { hasText: `Resumed ${env.queue} on 1 worker(s)` }).waitFor();
    await expect(app!.get(CeleryClient).asyncResult(held.id).get({ timeout: 15_000 })).resolves.toBe(42);
    await row.locator('[data-field="consumers"]', { hasText: hostname }).waitFor();
  }, 60_000);

  it("shows a worker's registered tasks and the queues it consumes", async () => {
    await show(`worker/${encodeURIComponent(hostname)}`);
    await page.locator('#worker-registered li', { hasText: 'tasks.add' }).waitFor();
    await page.locator(`#worker-queues li[data-queue="${env.queue}"]`).waitFor();
    await expect(page.locator('#worker-name').textContent()).resolves.toBe(hostname);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});

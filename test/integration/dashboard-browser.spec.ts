import { INestApplication } from '@nestjs/common';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { CeleryClient, CeleryWorker } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { eventually } from '../support/celery-app';
import { launchChromium } from '../support/chromium';
import { DASHBOARD_PASSWORD, DASHBOARD_USER, startDashboardApp } from '../support/dashboard-app';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** Where the run leaves a screenshot of each page (gitignored). */
const SCREENSHOTS = join(__dirname, '..', 'artifacts', 'dashboard');

describe('Dashboard in a real headless Chromium, on real RabbitMQ, PostgreSQL and a Python Celery worker', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let python: PythonWorker | undefined;
  const hostname = `${uniqueName('dash-ui')}@${osHostname()}`;
  const screenshots: string[] = [];
  const pageErrors: string[] = [];

  async function screenshot(name: string): Promise<void> {
    const path = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    screenshots.push(path);
  }
  const row = (selector: string) => page.locator(selector);

  beforeAll(async () => {
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    env = await createTestEnvironment('it-dash-ui');
    env.alsoRemove(`${env.queue}-py`);
    ({ app, url } = await startDashboardApp(
      celeryOptionsFromEnvironment(
        { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname, CELERY_WORKER_SEND_TASK_EVENTS: 'true' },
        { worker: true },
      ),
    ));
    browser = await launchChromium();
    context = await browser.newContext({ httpCredentials: { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD }, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
  }, 90_000);

  afterAll(async () => {
    await python?.stop();
    await browser?.close();
    await app?.close();
    await env?.dispose();
  });

  it('refuses the page without credentials (the app guard)', async () => {
    const anonymous = await browser!.newContext();
    try {
      // Chromium answers a Basic challenge it has no credentials for with this navigation error.
      await expect((await anonymous.newPage()).goto(url)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      // The same context's plain HTTP client shows the status the guard sent.
      for (const path of ['', '/api/tasks', '/api/stream']) expect((await anonymous.request.get(`${url}${path}`)).status()).toBe(401);
    } finally {
      await anonymous.close();
    }
  });

  it('shows the workers, and a Python worker appearing live without a reload', async () => {
    await page.goto(url);
    await page.evaluate(() => ((globalThis as any).loadedOnce = true));
    await row(`tr[data-worker="${hostname}"] [data-status="online"]`).waitFor();
    await row('#live.on').waitFor();
    await expect(page.locator('#overview').textContent()).resolves.toContain('guest:***@');
    python = await startPythonWorker({ queues: [`${env.queue}-py`], resultBackend: 'rpc://', events: true });
    await row(`tr[data-worker="${python.nodename}"] [data-status="online"]`).waitFor();
    expect(await page.evaluate(() => (globalThis as any).loadedOnce)).toBe(true);
    await screenshot('workers');
  }, 60_000);

  it('lists tasks live as they run, filters them, and opens the detail with the traceback', async () => {
    await page.click('nav a[data-view="tasks"]');
    const celery = app!.get(CeleryClient);
    const ok = await celery.send('tasks.add', [20, 22]);
    const failed = await celery.send('tasks.fail', ['shown in the browser']);
    const python_ok = await celery.send('tasks.add', [1, 1], { queue: `${env.queue}-py` });
    await row(`tr[data-task="${ok.id}"][data-state="SUCCESS"]`).waitFor();
    await row(`tr[data-task="${failed.id}"][data-state="FAILURE"]`).waitFor();
    await row(`tr[data-task="${python_ok.id}"][data-state="SUCCESS"]`).waitFor();
    expect(await page.evaluate(() => (globalThis as any).loadedOnce)).toBe(true);

    // The broker is shared: other workers' tasks may show too, so the filter also names our worker.
    await page.selectOption('#task-filter select[name=state]', 'FAILURE');
    await page.selectOption('#task-filter select[name=worker]', hostname);
    await page.click('#task-filter button[type=submit]');
    await row(`tr[data-task="${ok.id}"]`).waitFor({ state: 'detached' });
    expect(await row('#tasks-table tbody tr').count()).toBe(1);
    await page.fill('#task-filter input[name=name]', 'add');
    await page.selectOption('#task-filter select[name=state]', '');
    await page.click('#task-filter button[type=submit]');
    await row(`tr[data-task="${python_ok.id}"]`).waitFor({ state: 'detached' });
    await row(`tr[data-task="${ok.id}"]`).waitFor();
    await page.click('#task-filter button[type=reset]');
    await row(`tr[data-task="${python_ok.id}"]`).waitFor();
    await screenshot('tasks');

    await page.click(`tr[data-task="${failed.id}"] a`);
    await page.locator('#task-traceback', { hasText: 'shown in the browser' }).waitFor();
    await expect(page.locator('#task-detail [data-field="args"]').textContent()).resolves.toContain("'shown in the browser'");
    expect(await page.locator('#task-timeline li').count()).toBe(3);
    await screenshot('task-detail');

    await page.click('#action-retry');
    const retried = page.locator('#retried-task');
    await retried.waitFor();
    const newId = await retried.textContent();
    expect(newId).not.toBe(failed.id);
    await retried.click();
    await page.locator('#task-id', { hasText: newId! }).waitFor();
    await page.locator('#task-detail [data-field="state"] .state-FAILURE').waitFor();
    await expect(page.locator('#task-detail [data-field="name"]').textContent()).resolves.toContain('tasks.fail');
  }, 60_000);

  it('revokes a task that waits for its ETA', async () => {
    const celery = app!.get(CeleryClient);
    const later = await celery.send('tasks.add', [5, 5], { countdown: 8 });
    await page.goto(`${url}#/task/${later.id}`);
    await page.locator('#task-detail [data-field="state"] .state-RECEIVED').waitFor();
    await page.click('#action-revoke');
    await page.locator('#action-result', { hasText: 'Revoke sent' }).waitFor();
    // The worker drops it when it falls due, and says so with task-revoked.
    await page.locator('#task-detail [data-field="state"] .state-REVOKED').waitFor();
    await expect(celery.asyncResult(later.id).state()).resolves.toBe('REVOKED');
  }, 60_000);

  it('draws the throughput and failure-rate charts', async () => {
    await page.click('nav a[data-view="charts"]');
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.chartsUpdated !== undefined);
    const drawn = await page.evaluate(() => (globalThis as any).Chart.getChart('chart-throughput').data.datasets.map((set: { data: number[] }) => set.data.reduce((a, b) => a + b, 0)));
    expect(drawn[0]).toBeGreaterThanOrEqual(2); // the two additions
    expect(drawn[1]).toBeGreaterThanOrEqual(2); // the failure and its retry
    await screenshot('charts');
  });

  it('changes a rate limit on a worker, which takes effect there', async () => {
    await page.click('nav a[data-view="workers"]');
    await page.fill('#rate-limit-form input[name=taskName]', 'tasks.add');
    await page.fill('#rate-limit-form input[name=rateLimit]', '7/m');
    await page.selectOption('#rate-limit-form select[name=worker]', hostname);
    await page.click('#rate-limit-form button[type=submit]');
    await page.locator('#rate-limit-result', { hasText: 'new rate limit set successfully' }).waitFor();
    const worker = app!.get(CeleryWorker);
    expect(worker.registeredTasks().find((task) => task.name === 'tasks.add')?.rateLimit).toBe('7/m');
    await page.fill('#rate-limit-form input[name=rateLimit]', 'fast');
    await page.click('#rate-limit-form button[type=submit]');
    await page.locator('#rate-limit-result', { hasText: 'Refused' }).waitFor();
    await screenshot('rate-limit');
  });

  it('shuts a worker down from its row', async () => {
    await page.click(`tr[data-worker="${python!.nodename}"] button.shutdown`);
    await row(`tr[data-worker="${python!.nodename}"] [data-status="offline"]`).waitFor();
    await eventually(async () => (/Got shutdown from remote/.test(python!.log()) ? true : undefined), 15_000, 'the Python worker to log the remote shutdown');
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('saved a non-empty screenshot of each page', () => {
    expect(screenshots.map((path) => path.split('/').pop())).toEqual(['workers.png', 'tasks.png', 'task-detail.png', 'charts.png', 'rate-limit.png']);
    for (const path of screenshots) expect(statSync(path).size).toBeGreaterThan(1000);
  });
});

import { INestApplication, Injectable } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { CeleryClient, CeleryTask, currentTask } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { eventually } from '../support/celery-app';
import { DASHBOARD_AUTHORIZATION, DASHBOARD_PASSWORD, DASHBOARD_USER, dashboardRequest, startDashboardApp } from '../support/dashboard-app';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { celeryDatabaseUrl } from '../support/python-celery';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** Where the run leaves a screenshot of the bars (gitignored). */
const SCREENSHOTS = join(__dirname, '..', 'artifacts', 'dashboard');

/** Held tasks, by id: each reports its progress, then waits until the test releases it. */
const held = new Map<string, () => void>();

@Injectable()
class LongTasks {
  @CeleryTask({ name: 'dashboard.import_rows' })
  async importRows(done: number, total: number): Promise<number> {
    const task = currentTask();
    const released = new Promise<void>((resolve) => held.set(task.id, resolve));
    await task.setProgress(done, total, 'importing rows from postgresql://alice:hunter2@db.example/app');
    await released;
    return total;
  }
}

/**
 * The dashboard shows the progress running tasks report, ours (setProgress) and a Python task's
 * (celery-progress's ProgressRecorder): read from the result backend, since Celery sends no event
 * for update_state; through its JSON API, its live stream, and as bars in a real Chromium.
 */
describe('Dashboard progress bars, on real RabbitMQ, PostgreSQL and a Python Celery worker', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;
  let url: string;
  let python: PythonWorker | undefined;
  let browser: Browser | undefined;
  const hostname = `${uniqueName('dash-progress')}@${osHostname()}`;
  const api = (path: string) => dashboardRequest(`${url}/api/${path}`);

  beforeAll(async () => {
    env = await createTestEnvironment('it-dash-progress');
    env.alsoRemove(`${env.queue}-py`);
    const options = celeryOptionsFromEnvironment(
      { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname, CELERY_WORKER_SEND_TASK_EVENTS: 'true' },
      { worker: true },
    );
    ({ app, url } = await startDashboardApp(options, {}, [LongTasks]));
    // prefork: a solo worker is busy running the task and sends its task-started event only after it.
    python = await startPythonWorker({ queues: [`${env.queue}-py`], resultBackend: celeryDatabaseUrl(env.databaseUrl), events: true, pool: 'prefork', concurrency: 1 });
  }, 90_000);

  afterAll(async () => {
    for (const release of held.values()) release();
    await python?.stop();
    await browser?.close();
    await app?.close();
    await env?.dispose();
  });

  it('gives running tasks their progress in the API and the live stream, secrets masked, and drops it once they finish', async () => {
    const celery = app!.get(CeleryClient);
    const stream = await fetch(`${url}/api/stream`, { headers: { authorization: DASHBOARD_AUTHORIZATION } });
    const reader = stream.body!.getReader();
    const nest = await celery.send('dashboard.import_rows', [3, 4]);
    // celery-progress's recorder: 1 of 2, then 2 of 2, two seconds apart.
    const fromPython = await celery.send('py.progress', [2, 2], { queue: `${env.queue}-py` });

    const progress = await eventually(async () => {
      const { body } = await api('progress');
      return body[nest.id] && body[fromPython.id] ? body : undefined;
    }, 20_000, 'both tasks reporting progress');
    expect(progress[nest.id]).toEqual({ state: 'PROGRESS', percent: 75, description: 'importing rows from postgresql://alice:***@db.example/app' });
    expect(progress[fromPython.id]).toMatchObject({ state: 'PROGRESS', description: expect.stringMatching(/^step [12]$/) });

    let text = '';
    const decoder = new TextDecoder();
    await eventually(async () => {
      const { value } = await reader.read();
      text += decoder.decode(value);
      return text.includes('event: progress') && text.includes(nest.id) ? true : undefined;
    }, 10_000, 'a progress event on the stream');
    expect(text).not.toContain('hunter2');
    await reader.cancel();

    held.get(nest.id)!();
    await nest.get({ timeout: 10_000 });
    await fromPython.get({ timeout: 20_000 });
    await eventually(async () => {
      const { body } = await api('progress');
      return body[nest.id] === undefined && body[fromPython.id] === undefined ? true : undefined;
    }, 10_000, 'progress gone once the tasks finished');
  }, 60_000);

  it('draws a bar in the running task\'s row in a real Chromium, updated live', async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ httpCredentials: { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD }, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${url}#/tasks`);
    await page.locator('#live.on').waitFor();

    const nest = await app!.get(CeleryClient).send('dashboard.import_rows', [1, 4]);
    const bar = page.locator(`tr[data-task="${nest.id}"] .progress[data-progress="25"] progress`);
    await bar.waitFor();
    expect(await bar.getAttribute('value')).toBe('25');
    await expect(page.locator(`tr[data-task="${nest.id}"] .progress-label`).textContent()).resolves.toBe('25% · importing rows from postgresql://alice:***@db.example/app');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'progress.png'), fullPage: true });

    held.get(nest.id)!();
    await page.locator(`tr[data-task="${nest.id}"][data-state="SUCCESS"]`).waitFor();
    expect(await page.locator(`tr[data-task="${nest.id}"] .progress`).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

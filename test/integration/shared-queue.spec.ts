import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CeleryClient, CeleryWorker } from '../../lib';
import { AppModule } from '../../sample-app/src/app.module';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const TASKS = 300;

/**
 * One pool: a Python Celery 5.2.6 worker (prefork, 2 processes) and our sample-app worker
 * consume the same queue at once. Both declare it the same way, both take part, every task runs
 * exactly once, and each side's own count of what it ran adds up to what was sent.
 */
describe('a queue shared by a Python Celery worker and our worker', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let pythonWorker: PythonWorker;
  const nestHostname = `nest-${randomBytes(4).toString('hex')}@shared`;

  beforeAll(async () => {
    env = await createTestEnvironment('it-shared');
    const settings = {
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
      CELERY_QUEUES: env.queue,
      CELERY_CONCURRENCY: '4',
      CELERY_HOSTNAME: nestHostname,
    };
    // Ours first: it creates Celery's tables before the Python worker's first result needs them.
    app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, settings), { logger: process.env.TEST_LOGS ? undefined : false, abortOnError: false });
    await app.init();
    pythonWorker = await startPythonWorker({
      queues: [env.queue],
      resultBackend: celeryDatabaseUrl(env.databaseUrl),
      resultExtended: true, // the `worker` column tells who ran each task
      pool: 'prefork',
      concurrency: 2,
    });
  });

  afterAll(async () => {
    await pythonWorker?.stop();
    await app?.close();
    await env?.dispose();
  });

  it(`runs each of ${TASKS} tasks exactly once, some on each worker`, async () => {
    const celery = app.get(CeleryClient);
    const results = await Promise.all(Array.from({ length: TASKS }, (_, index) => celery.send('tasks.add', [index, 1000])));
    const values = await Promise.all(results.map((result) => result.get({ timeout: 30_000 })));
    expect(values).toEqual(Array.from({ length: TASKS }, (_, index) => index + 1000));

    // Each side counts what it ran: ours in the worker, Python's in `inspect stats` (total per task).
    const ranHere = app.get(CeleryWorker).processedCount;
    const stats = await runInteropClient<Record<string, { total: Record<string, number> }>>(
      `
import json
from interop_tasks import app
print(json.dumps(app.control.inspect(destination=[${JSON.stringify(pythonWorker.nodename)}], timeout=10).stats()))
`,
      { resultBackend: 'rpc://' },
    );
    const ranInPython = stats[pythonWorker.nodename].total['tasks.add'] ?? 0;
    expect(ranHere).toBeGreaterThan(0);
    expect(ranInPython).toBeGreaterThan(0);
    expect(ranHere + ranInPython).toBe(TASKS);

    // And the results say the same: every row written once, by the worker that ran it.
    expect(await rowsPerWorker(env.databaseUrl)).toEqual({ [nestHostname]: ranHere, [pythonWorker.nodename]: ranInPython });
    expect(pythonWorker.log()).not.toContain('PRECONDITION_FAILED');
  });
});

/** SUCCESS rows in celery_taskmeta, counted by their `worker` column. */
async function rowsPerWorker(databaseUrl: string): Promise<Record<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ worker: string; count: string }>(
      `SELECT worker, count(*) FROM celery_taskmeta WHERE status = 'SUCCESS' GROUP BY worker`,
    );
    return Object.fromEntries(rows.map((row) => [row.worker, Number(row.count)]));
  } finally {
    await client.end();
  }
}

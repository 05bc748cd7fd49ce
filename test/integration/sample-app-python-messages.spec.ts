import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { CeleryClient, CeleryWorker } from '../../lib';
import { eventually } from '../support/celery-app';
import { AppModule } from '../../sample-app/src/app.module';
import { capturedBody, capturedProperties, CapturedMessage, loadFixture } from '../support/fixtures';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { CELERY_PEER } from '../support/celery-peer';

/**
 * The sample-app worker consumes what Python Celery 5.2.6 produces: the captured messages,
 * replayed byte for byte (only the task name is changed from the capture's `proto.*` to the
 * sample's `tasks.*`), and live messages from a real Python producer that reads the result back.
 */
describe(`sample-app worker and messages produced by ${CELERY_PEER.name}`, () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-python');
    const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_CONCURRENCY: '4' };
    app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, settings), { logger: false, abortOnError: false });
    await app.init();
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  /** Publishes a captured message to our env.queue with a fresh id and the sample's task name. */
  async function replay(captured: CapturedMessage, taskName: string): Promise<string> {
    const id = randomUUID();
    const properties = capturedProperties(captured);
    const headers: Record<string, unknown> = { ...properties.headers };
    let body = capturedBody(captured);
    if (headers.task) {
      Object.assign(headers, { task: taskName, id, root_id: id });
    } else {
      // Protocol v1: everything is in the body.
      const v1 = JSON.parse(body.toString('utf8'));
      body = Buffer.from(JSON.stringify({ ...v1, task: taskName, id, eta: null, expires: null }));
    }
    const connection = await connect(RABBITMQ_URL);
    const channel = await connection.createConfirmChannel();
    channel.publish('', env.queue, body, {
      contentType: properties.contentType,
      contentEncoding: properties.contentEncoding,
      deliveryMode: properties.deliveryMode,
      correlationId: id,
      replyTo: properties.replyTo,
      headers,
    });
    await channel.waitForConfirms();
    await connection.close();
    return id;
  }

  it.each([
    ['task_v2_delay_minimal', 5],
    ['task_v2_compression_zlib', 2],
    ['task_v2_priority', 2],
    ['task_v2_countdown', 4], // its eta (the capture's countdown) has passed: it runs at once
    ['task_v1_message', 5],
  ])('runs the captured %s', async (fixture, expected) => {
    const id = await replay(loadFixture(fixture).message, 'tasks.add');
    expect(await celery.asyncResult(id).get({ timeout: 10_000 })).toBe(expected);
  });

  it('does not run a captured message whose expires has passed, and stores it REVOKED', async () => {
    const id = await replay(loadFixture('task_v2_expires_seconds').message, 'tasks.add');
    const meta = await celery.asyncResult(id).get({ timeout: 10_000, propagate: false });
    expect(meta).toEqual({ exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' });
    expect(await celery.asyncResult(id).state()).toBe('REVOKED');
  });

  it('honours ignore_result from the captured message: it runs and stores nothing', async () => {
    const worker = app.get(CeleryWorker);
    const processedBefore = worker.processedCount;
    const ignored = await replay(loadFixture('task_v2_timelimit_shadow_custom_header').message, 'tasks.add');
    await eventually(() => (worker.processedCount > processedBefore ? true : undefined), 10_000, 'the ignored task to run');
    expect(await celery.asyncResult(ignored).state()).toBe('PENDING');
  });

  it('runs tasks a real Python Celery producer sends, and Python reads the results from PostgreSQL', async () => {
    const output = await runPython(
      `
import json, celery
app = celery.Celery(broker=${JSON.stringify(RABBITMQ_URL)}, backend=${JSON.stringify(celeryDatabaseUrl(env.databaseUrl))})
app.conf.task_default_queue = ${JSON.stringify(env.queue)}
out = {}
out['add'] = app.send_task('tasks.add', (2, 2)).get(timeout=20)
out['xsum'] = app.send_task('tasks.xsum', ([1, 2, 3.5],)).get(timeout=20)
out['echo'] = app.send_task('tasks.echo', kwargs={'value': {'a': [1, None, True], 'u': 'h\\u00e9llo \\U0001F600'}}).get(timeout=20)
try:
    app.send_task('tasks.fail', ('from python',)).get(timeout=20)
except Exception as exc:
    out['fail'] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
`,
      { timeoutMs: 90_000 },
    );
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({
      add: 4,
      xsum: 6.5,
      echo: { a: [1, null, true], u: 'héllo 😀' },
      fail: ['Exception', 'from python'], // a plain JS Error is stored as Python's Exception
    });
  });
});

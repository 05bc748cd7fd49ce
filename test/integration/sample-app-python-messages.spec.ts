import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { CeleryClient } from '../../lib';
import { AppModule } from '../../sample-app/src/app.module';
import { capturedBody, capturedProperties, CapturedMessage, loadFixture } from '../support/fixtures';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

/**
 * The sample-app worker consumes what Python Celery 5.2.6 produces: the captured messages,
 * replayed byte for byte (only the task name is changed from the capture's `proto.*` to the
 * sample's `tasks.*`), and live messages from a real Python producer that reads the result back.
 */
describe('sample-app worker and messages produced by Python Celery 5.2.6', () => {
  const queue = uniqueName('it-python');
  let database: TestDatabase;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    database = await createTestDatabase('it_python');
    const env = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: database.url, CELERY_QUEUES: queue, CELERY_CONCURRENCY: '4' };
    app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, env), { logger: false, abortOnError: false });
    await app.init();
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await deleteQueues(queue);
    await deleteExchanges(queue);
    await database?.drop();
  });

  /** Publishes a captured message to our queue with a fresh id and the sample's task name. */
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
    channel.publish('', queue, body, {
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
    ['task_v2_delay_minimal', 'tasks.add', 5],
    ['task_v2_compression_zlib', 'tasks.add', 2],
    ['task_v2_priority', 'tasks.add', 2],
    ['task_v2_timelimit_shadow_custom_header', 'tasks.add', 2],
    ['task_v1_message', 'tasks.add', 5],
  ])('runs the captured %s', async (fixture, taskName, expected) => {
    const captured: CapturedMessage = loadFixture(fixture).message;
    const id = await replay(captured, taskName);
    expect(await celery.asyncResult(id).get({ timeout: 10_000 })).toBe(expected);
  });

  it('runs tasks a real Python Celery producer sends, and Python reads the results from PostgreSQL', async () => {
    const output = await runPython(
      `
import json, celery
app = celery.Celery(broker=${JSON.stringify(RABBITMQ_URL)}, backend=${JSON.stringify(celeryDatabaseUrl(database.url))})
app.conf.task_default_queue = ${JSON.stringify(queue)}
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
      fail: ['Error', 'from python'],
    });
  });
});

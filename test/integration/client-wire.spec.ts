import { INestApplicationContext } from '@nestjs/common';
import { connect, GetMessage } from 'amqplib';
import { CeleryClient, TaskState } from '../../lib';
import { CELERY_RESULT_BACKEND, ResultBackend } from '../../lib/advanced';
import { parseCeleryDate } from '../../lib/protocol/celery-time';
import { startCeleryApp } from '../support/celery-app';
import { loadFixture } from '../support/fixtures';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { RABBITMQ_URL } from '../support/rabbitmq';

/** What CeleryClient puts on the wire, read back raw from RabbitMQ and set beside Celery 5.2.6's captures. */
describe('CeleryClient messages on the wire', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-wire');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  async function take(): Promise<GetMessage> {
    const connection = await connect(RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const message = await channel.get(env.queue, { noAck: true });
      if (!message) throw new Error(`no message in ${env.queue}`);
      return message;
    } finally {
      await connection.close();
    }
  }

  it('has the structure of the message Celery 5.2.6 sends for add.delay(2, 3)', async () => {
    const captured = loadFixture('task_v2_delay_minimal').message;
    const result = await celery.send('proto.add', [2, 3]);
    const message = await take();

    expect(Object.keys(message.properties.headers!).sort()).toEqual(Object.keys(captured.headers).sort());
    expect(message.content.toString('utf8')).toBe(captured.body_raw);
    expect(message.properties).toMatchObject({
      contentType: captured.properties.content_type,
      contentEncoding: captured.properties.content_encoding,
      deliveryMode: captured.properties.delivery_mode,
      correlationId: result.id,
    });
    expect(message.properties.replyTo).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.fields).toMatchObject({ exchange: '', routingKey: env.queue });
    expect(message.properties.headers).toMatchObject({
      task: 'proto.add',
      id: result.id,
      root_id: result.id,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
      group: null,
      timelimit: [null, null],
      argsrepr: '(2, 3)',
      kwargsrepr: '{}',
      ignore_result: false,
      origin: expect.stringMatching(/^gen\d+@/),
    });
  });

  it('sendBulk() over RabbitMQ puts the bytes send() would on the wire and settles each call on its own', async () => {
    const nowhere = `${env.queue}-nowhere`;
    // An exchange no queue is bound to: that call comes back unroutable (mandatory), the others are confirmed.
    const settled = await celery.sendBulk('proto.add', [[1, 2], 'not an array' as never, [3, 4]], { exchange: 'amq.direct', routingKey: nowhere });
    expect(settled.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'PublishError' });
    expect(String((settled[0] as PromiseRejectedResult).reason)).toContain(`routing key "${nowhere}"`);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ name: 'InvalidSendOptionsError' });

    const sent = await celery.sendBulk('proto.add', [[2, 3], [4, 5]]);
    expect(sent.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    const [first, second] = [await take(), await take()];
    const captured = loadFixture('task_v2_delay_minimal').message;
    expect(first.content.toString('utf8')).toBe(captured.body_raw);
    expect(Object.keys(first.properties.headers!).sort()).toEqual(Object.keys(captured.headers).sort());
    expect([first.properties.correlationId, second.properties.correlationId]).toEqual(sent.map((outcome) => (outcome as PromiseFulfilledResult<{ id: string }>).value.id));
    expect(second.properties.headers).toMatchObject({ argsrepr: '(4, 5)', task: 'proto.add' });
  });

  it('carries countdown, expires, priority, task id, custom headers and ignore_result like Celery', async () => {
    const before = Date.now();
    await celery.send('proto.add', [1], {
      kwargs: { y: 2 },
      taskId: 'my-own-id',
      countdown: 30,
      expires: 60,
      priority: 7,
      headers: { 'x-tenant': 'acme' },
      ignoreResult: true,
      timeLimit: 30,
      softTimeLimit: 20,
      shadow: 'add-shadow',
    });
    const message = await take();
    const headers = message.properties.headers!;
    expect(headers).toMatchObject({
      id: 'my-own-id',
      'x-tenant': 'acme',
      ignore_result: true,
      timelimit: [30, 20],
      shadow: 'add-shadow',
      kwargsrepr: "{'y': 2}",
    });
    expect(headers.eta).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(parseCeleryDate(headers.eta)!.getTime() - before).toBeGreaterThanOrEqual(30_000);
    expect(parseCeleryDate(headers.expires)!.getTime() - before).toBeGreaterThanOrEqual(60_000);
    expect(Number(message.properties.expiration)).toBeGreaterThan(59_000);
    expect(message.properties.priority).toBe(7);
    expect(message.content.toString()).toBe('[[1], {"y": 2}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]');
  });

  it('forgets a stored result', async () => {
    const backend = app.get<ResultBackend>(CELERY_RESULT_BACKEND);
    await backend.storeResult({ taskId: 'forget-me', status: 'SUCCESS', result: 1, traceback: null, children: [], dateDone: new Date() });
    const result = celery.asyncResult('forget-me');
    expect(await result.state()).toBe(TaskState.SUCCESS);
    await result.forget();
    expect(await result.state()).toBe(TaskState.PENDING);
  });
});

import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../sample-app/src/app.module';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { celeryDatabaseUrl } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';

/** The sample app's HTTP API against real RabbitMQ and PostgreSQL. */
describe('sample-app HTTP API', () => {
  let env: TestEnvironment;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    env = await createTestEnvironment('it-http');
    const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: celeryDatabaseUrl(env.databaseUrl), CELERY_QUEUES: env.queue };
    app = await NestFactory.create(AppModule.forRole({ api: true, worker: true }, settings), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  async function post(name: string, body: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(`${base}/tasks/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: await response.json() };
  }

  async function get(path: string): Promise<{ status: number; json: any }> {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, json: await response.json() };
  }

  it('sends a task (202 { id }) and waits for its result', async () => {
    const sent = await post('tasks.add', { args: [2, 2] });
    expect(sent.status).toBe(202);
    expect(sent.json.id).toMatch(/^[0-9a-f-]{36}$/);
    const result = await get(`/tasks/${sent.json.id}/result?timeout=10000`);
    expect(result).toEqual({ status: 200, json: { id: sent.json.id, state: 'SUCCESS', result: 4, error: null } });
    expect((await get(`/tasks/${sent.json.id}`)).json.state).toBe('SUCCESS');
  });

  it('takes kwargs and options', async () => {
    const sent = await post('tasks.echo', { kwargs: { value: { list: [1, 'two'] } }, options: { priority: 3 } });
    expect((await get(`/tasks/${sent.json.id}/result?timeout=10000`)).json.result).toEqual({ list: [1, 'two'] });
  });

  it('shows a failure with the error type and message', async () => {
    const sent = await post('tasks.fail', { args: ['broken on purpose'] });
    const result = await get(`/tasks/${sent.json.id}/result?timeout=10000`);
    expect(result.json).toMatchObject({ state: 'FAILURE', result: null, error: { type: 'Exception', message: 'broken on purpose' } }); // a plain JS Error is stored as Python's Exception
    expect(result.json.error.traceback).toContain('broken on purpose');
  });

  it('reports PENDING for an unknown id, 504 when waiting times out, 400 for bad options', async () => {
    expect((await get('/tasks/00000000-0000-0000-0000-000000000000')).json).toEqual({
      id: '00000000-0000-0000-0000-000000000000',
      state: 'PENDING',
      result: null,
      error: null,
    });
    expect((await get('/tasks/00000000-0000-0000-0000-000000000000/result?timeout=200')).status).toBe(504);
    const bad = await post('tasks.add', { args: [1, 2], options: { countdown: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('countdown must be a number of seconds');
  });
});

import { DataSource } from 'typeorm';
import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import { problemsOf } from '../support/option-problems';
import { fromOutboxRow, toOutboxParameters } from '../../lib/outbox/outbox-row';
import { resolveExecutionSettings } from '../../lib/worker/execution-settings';
import { DEFAULT_WORKER_OPTIONS } from '../../lib/worker/worker-options';
import { TaskMessage } from '../../lib/protocol/task-message';


describe('outbox options', () => {
  it('needs a database to relay from unless the relay and the migration are both off', () => {
    expect(problemsOf({ outbox: {} })).toEqual([
      'outbox needs a dataSource (the TypeORM DataSource your transactions use) or a PostgreSQL url, unless relay and migrationsRun are both false',
    ]);
    expect(problemsOf({ outbox: { relay: false, migrationsRun: false } })).toEqual([]);
  });

  it('names every bad outbox option, with the password masked', () => {
    expect(problemsOf({ outbox: { url: 'localhost', relay: 'yes', pollIntervalMs: 0, batchSize: 1.5 } })).toEqual([
      'outbox.url must be a URL such as amqp://user:password@host:5672// or postgresql://user@host/db, got "localhost"',
      'outbox.relay must be true or false, got "yes"',
      'outbox.pollIntervalMs must be a positive number, got 0',
      'outbox.batchSize must be a positive integer, got 1.5',
    ]);
    const both = problemsOf({ outbox: { url: 'postgresql://u:secret@db/app', dataSource: new DataSource({ type: 'postgres' }) } });
    expect(both).toEqual(['outbox takes a url or a dataSource, not both']);
    expect(JSON.stringify(problemsOf({ outbox: 'postgresql://u:secret@db/app' }))).not.toContain('secret');
  });

  it('resolves the defaults, and no outbox when the option is absent', () => {
    expect(resolveCeleryConfig({ broker: 'memory://' }).outbox).toBeNull();
    expect(resolveCeleryConfig({ broker: 'memory://', outbox: { url: 'postgresql://db/app' } }).outbox).toEqual({
      url: 'postgresql://db/app',
      dataSource: undefined,
      relay: true,
      migrationsRun: true,
      pollIntervalMs: 1000,
      batchSize: 100,
    });
  });

  it('stores a prepared message so that the relay gets the same bytes and header order back', () => {
    const headers = { lang: 'js', task: 'tasks.add', id: 'abc', eta: null, timelimit: [null, 2.5], retries: 0, zeta: 'last' };
    const prepared = {
      taskId: 'abc',
      queue: 'celery',
      message: { exchange: '', routingKey: 'celery', body: Buffer.from('[[2, 2], {}, {}]'), properties: { contentType: 'application/json', headers, priority: 0 } },
    };
    const [taskId, queue, exchange, routingKey, properties, body] = toOutboxParameters(prepared);
    const row = { id: '1', task_id: taskId, queue, exchange, routing_key: routingKey, properties: JSON.parse(properties as string), body } as never;
    const relayed = fromOutboxRow(row);
    expect(relayed).toEqual(prepared);
    expect(Object.keys(relayed.message.properties.headers!)).toEqual(Object.keys(headers));
  });
});

describe('skipIfSucceeded', () => {
  const message = { ignoreResult: false, timeLimit: [null, null] } as unknown as TaskMessage;

  it('is off unless the task asks for it', () => {
    expect(resolveExecutionSettings(message, {}, DEFAULT_WORKER_OPTIONS).skipIfSucceeded).toBe(false);
    expect(resolveExecutionSettings(message, { skipIfSucceeded: true }, DEFAULT_WORKER_OPTIONS).skipIfSucceeded).toBe(true);
  });
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { connect } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryClient, CeleryTask, currentTask, TaskFailedError, TaskState } from '../../lib';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { PublishError } from '../../lib/errors/publish.error';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { eventually, startCeleryApp } from '../support/celery-app';

/** A service the tasks depend on, to prove they are bound into Nest's DI. */
@Injectable()
class Calculator {
  add(x: number, y: number): number {
    return x + y;
  }
}

/** Tracks how many tasks run at once. */
@Injectable()
class Gauge {
  running = 0;
  peak = 0;
}

@Injectable()
class ModuleTasks {
  constructor(
    private readonly calculator: Calculator,
    private readonly gauge: Gauge,
  ) {}

  @CeleryTask({ name: 'it.add' })
  add(x: number, y: number): number {
    return this.calculator.add(x, y);
  }

  @CeleryTask({ name: 'it.async_greet' })
  async greet(name: string, greeting = 'hello'): Promise<string> {
    await sleep(5);
    return `${greeting} ${name}`;
  }

  @CeleryTask({ name: 'it.fail' })
  fail(message: string): never {
    throw new TypeError(message);
  }

  @CeleryTask({ name: 'it.unstorable' })
  unstorable(): unknown {
    return { callback: () => 1 };
  }

  @CeleryTask({ name: 'it.context' })
  context(): Record<string, unknown> {
    const task = currentTask();
    return {
      id: task.id,
      name: task.name,
      retries: task.retries,
      rootId: task.rootId,
      headers: task.headers,
      routingKey: task.deliveryInfo.routingKey,
      hostname: task.hostname,
    };
  }

  @CeleryTask({ name: 'it.slow' })
  async slow(ms: number): Promise<number> {
    this.gauge.running++;
    this.gauge.peak = Math.max(this.gauge.peak, this.gauge.running);
    try {
      await sleep(ms);
    } finally {
      this.gauge.running--;
    }
    return ms;
  }

  @CeleryTask({ name: 'it.slow_late', acksLate: true })
  async slowLate(ms: number): Promise<number> {
    await sleep(ms);
    return ms;
  }
}

/** Counts unacknowledged messages of a queue as RabbitMQ sees them. */
function unacknowledged(queue: string): number {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_unacknowledged'], { encoding: 'utf8' });
  const line = out.split('\n').find((row) => row.split(/\s+/)[0] === queue);
  return line ? Number(line.trim().split(/\s+/)[1]) : -1;
}

describe('CeleryModule on RabbitMQ and PostgreSQL', () => {
  const queue = uniqueName('it-module');
  const deadLetters = uniqueName('it-module-dlx');
  let database: TestDatabase;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let closed = false;

  beforeAll(async () => {
    database = await createTestDatabase('it_module');
    app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        backend: database.url,
        defaultQueue: queue,
        queues: { [queue]: { deadLetterExchange: deadLetters } },
        worker: { concurrency: 2, hostname: 'itworker@%h', shutdownTimeoutMs: 5_000 },
      },
      [Calculator, Gauge, ModuleTasks],
    );
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    if (!closed) await app?.close();
    await deleteQueues(queue, `${deadLetters}-q`);
    await deleteExchanges(queue, deadLetters);
    await database?.drop();
  });

  it('runs DI-bound task methods with args and kwargs and returns their results', async () => {
    expect(await (await celery.send('it.add', [2, 2])).get({ timeout: 10_000 })).toBe(4);
    expect(await (await celery.send('it.add', [], { kwargs: { x: 40, y: 2 } })).get({ timeout: 10_000 })).toBe(42);
    expect(await (await celery.send('it.async_greet', ['Ada'], { kwargs: { greeting: 'hi' } })).get({ timeout: 10_000 })).toBe('hi Ada');
  });

  it('reports a failure with the remote type, message and traceback', async () => {
    const result = await celery.send('it.fail', ['bad input']);
    const error = await result.get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ taskId: result.id, state: 'FAILURE', excType: 'TypeError', excModule: 'builtins', excMessage: ['bad input'] });
    expect((error as TaskFailedError).traceback).toContain('TypeError: bad input');
    expect(await result.state()).toBe(TaskState.FAILURE);
    expect(await result.ready()).toBe(true);
  });

  it('stores a result that cannot be serialised as FAILURE EncodeError, as Celery does', async () => {
    const error = await (await celery.send('it.unstorable')).get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ state: 'FAILURE', excType: 'EncodeError', excModule: 'kombu.exceptions' });
    expect((error as Error).message).toContain('callback');
  });

  it('gives the task its context without changing its signature', async () => {
    const result = await celery.send('it.context', [], { headers: { 'x-tenant': 'acme' } });
    const context = await result.get({ timeout: 10_000 });
    expect(context).toMatchObject({ id: result.id, name: 'it.context', retries: 0, rootId: result.id, headers: { 'x-tenant': 'acme' }, routingKey: queue });
    expect(String((context as { hostname: string }).hostname)).toMatch(/^itworker@/);
  });

  it('times out get() with a clear error while the task has not run', async () => {
    const parked = uniqueName('it-parked');
    try {
      const result = await celery.send('it.add', [1, 1], { queue: parked });
      const error = await result.get({ timeout: 300 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ResultTimeoutError);
      expect((error as Error).message).toContain(result.id);
      expect(await result.state()).toBe(TaskState.PENDING);
    } finally {
      await deleteQueues(parked);
      await deleteExchanges(parked);
    }
  });

  it('runs at most `concurrency` tasks at once', async () => {
    const gauge = app.get(Gauge);
    gauge.peak = 0;
    const results = await Promise.all(Array.from({ length: 6 }, () => celery.send('it.slow', [150])));
    await Promise.all(results.map((result) => result.get({ timeout: 10_000 })));
    expect(gauge.peak).toBe(2);
  });

  it('acks before running by default, and after storing the result with acksLate', async () => {
    const early = await celery.send('it.slow', [1_500]);
    await sleep(400);
    expect(unacknowledged(queue)).toBe(0);
    await early.get({ timeout: 10_000 });

    const late = await celery.send('it.slow_late', [1_500]);
    await sleep(400);
    expect(unacknowledged(queue)).toBe(1);
    expect(await late.get({ timeout: 10_000 })).toBe(1_500);
    await eventually(() => (unacknowledged(queue) === 0 ? true : undefined), 5_000, 'late ack');
  });

  it('holds ETA tasks until their time without starving the tasks behind them', async () => {
    const start = Date.now();
    const held = await Promise.all([1, 2, 3].map((value) => celery.send('it.add', [value, 0], { countdown: 2 })));
    expect(await (await celery.send('it.add', [7, 7])).get({ timeout: 1_500 })).toBe(14);
    expect(await held[0].state()).toBe(TaskState.PENDING);
    expect(await Promise.all(held.map((result) => result.get({ timeout: 10_000 })))).toEqual([1, 2, 3]);
    expect(Date.now() - start).toBeGreaterThanOrEqual(2_000);
  });

  it('rejects a send the broker cannot route, with a reason', async () => {
    const error = await celery.send('it.add', [1, 2], { exchange: 'amq.direct', routingKey: uniqueName('nowhere') }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(/amq\.direct/);
  });

  describe('bad input', () => {
    const deadLetterQueue = `${deadLetters}-q`;

    beforeAll(async () => {
      const connection = await connect(RABBITMQ_URL);
      const channel = await connection.createChannel();
      await channel.assertExchange(deadLetters, 'fanout', { durable: true });
      await channel.assertQueue(deadLetterQueue, { durable: false, autoDelete: false });
      await channel.bindQueue(deadLetterQueue, deadLetters, '');
      await channel.close();
      await connection.close();
    });

    async function publishRaw(body: Buffer | string, properties: Record<string, unknown>): Promise<void> {
      const connection = await connect(RABBITMQ_URL);
      const channel = await connection.createConfirmChannel();
      channel.publish('', queue, Buffer.from(body), properties);
      await channel.waitForConfirms();
      await connection.close();
    }

    async function deadLettered(count: number): Promise<string[]> {
      const connection = await connect(RABBITMQ_URL);
      const channel = await connection.createChannel();
      const ids: string[] = [];
      try {
        await eventually(async () => {
          const message = await channel.get(deadLetterQueue, { noAck: true });
          if (message) ids.push(String(message.properties.correlationId ?? message.properties.headers?.id ?? message.content.toString()));
          return ids.length >= count ? ids : undefined;
        }, 10_000, `${count} dead-lettered messages`);
      } finally {
        await connection.close();
      }
      return ids;
    }

    it('refuses each malformed message to the dead-letter exchange, stores FAILURE when the id is known, and keeps serving', async () => {
      const json = { contentType: 'application/json', contentEncoding: 'utf-8' };
      await publishRaw('{not json', { ...json, correlationId: 'c-broken', headers: { task: 'it.add', id: 'bad-json-1' } });
      await publishRaw(Buffer.from('80049505000000000000004b052e', 'hex'), { contentType: 'application/x-python-serialize', correlationId: 'c-pickle', headers: { task: 'it.add', id: 'bad-pickle-1' } });
      await publishRaw('[[1], {}, {}]', { ...json, correlationId: 'c-unknown', headers: { task: 'it.nope', id: 'unknown-1' } });
      await publishRaw('[[1, 2, 3], {}, {}]', { ...json, correlationId: 'c-args', headers: { task: 'it.add', id: 'bad-args-1' } });
      await publishRaw('[[1], {}]', { ...json, correlationId: 'c-two', headers: { task: 'it.add', id: 'two-elements-1' } });

      expect((await deadLettered(5)).sort()).toEqual(['c-args', 'c-broken', 'c-pickle', 'c-two', 'c-unknown']);

      const stored = async (id: string) => eventually(async () => (await celery.asyncResult(id).info()) ?? undefined, 5_000, `result of ${id}`);
      expect(await stored('unknown-1')).toMatchObject({ status: 'FAILURE', result: { exc_type: 'NotRegistered', exc_module: 'celery.exceptions', exc_message: ['it.nope'] } });
      expect(await stored('bad-args-1')).toMatchObject({ status: 'FAILURE', result: { exc_type: 'TypeError', exc_message: ['it.add() takes 2 positional arguments but 3 were given'] } });
      expect(await stored('bad-json-1')).toMatchObject({ status: 'FAILURE', result: { exc_type: 'InvalidTaskError' } });
      expect(await stored('bad-pickle-1')).toMatchObject({ status: 'FAILURE', result: { exc_type: 'InvalidTaskError' } });

      expect(await (await celery.send('it.add', [5, 5])).get({ timeout: 10_000 })).toBe(10);
    });
  });

  it('finishes a running task on shutdown and stores its result', async () => {
    const running = await celery.send('it.slow', [800]);
    await sleep(200);
    await app.close();
    closed = true;
    const reader = new DatabaseResultBackend({ url: database.url });
    await reader.connect();
    try {
      expect(await reader.getResult(running.id)).toMatchObject({ status: 'SUCCESS', result: 800 });
    } finally {
      await reader.close();
    }
  });
});

describe('CeleryModule bootstrap', () => {
  it('fails when two providers register the same task name, naming both', async () => {
    @Injectable()
    class First {
      @CeleryTask('dup.name')
      run(): number {
        return 1;
      }
    }
    @Injectable()
    class Second {
      @CeleryTask({ name: 'dup.name' })
      go(): number {
        return 2;
      }
    }
    await expect(startCeleryApp({ broker: 'memory://', backend: false, worker: false }, [First, Second])).rejects.toThrow(
      'Task name "dup.name" is registered twice: by First.run and by Second.go.',
    );
  });
});

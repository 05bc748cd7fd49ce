import { INestApplicationContext, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryClient, CeleryHealthIndicator, CeleryMetrics, CeleryTask } from '../../lib';
import { createResultBackend } from '../../lib/backend/create-result-backend';
import { AmqpBroker } from '../../lib/broker/amqp/amqp-broker';
import { eventually, startCeleryApp } from '../support/celery-app';
import { deleteQueues, forceCloseConnection, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { TcpFaultProxy } from '../support/tcp-fault-proxy';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class OpsTasks {
  @CeleryTask({ name: 'ops.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'ops.fail' })
  fail(): never {
    throw new Error('expected failure');
  }

  @CeleryTask({ name: 'ops.sleep' })
  async sleep(ms: number): Promise<number> {
    await sleep(ms);
    return ms;
  }
}

/** The value of one sample line of the Prometheus text format, or undefined when absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('metrics and health against RabbitMQ and PostgreSQL', () => {
  const connectionName = uniqueName('it-ops-connection');
  const idleQueue = uniqueName('it-ops-idle');
  const registry = new Registry();
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-ops');
    app = await startCeleryApp(
      {
        broker: { url: RABBITMQ_URL, connectionName, reconnectDelayMs: 200 },
        backend: env.databaseUrl,
        defaultQueue: env.queue,
        queues: { [idleQueue]: {} },
        worker: { concurrency: 2 },
        metrics: { registry },
      },
      [OpsTasks],
      [TerminusModule],
    );
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await deleteQueues(idleQueue);
    await env?.dispose();
  });

  it('counts tasks by name and state and times their runs', async () => {
    expect(await (await celery.send('ops.add', [2, 3])).get({ timeout: 10_000 })).toBe(5);
    await (await celery.send('ops.fail', [])).get({ timeout: 10_000, propagate: false });
    const text = await eventually(async () => {
      const metrics = await registry.metrics();
      return sample(metrics, 'celery_tasks_total{name="ops.fail",state="FAILURE"}') === 1 ? metrics : undefined;
    });
    expect(sample(text, 'celery_tasks_total{name="ops.add",state="RECEIVED"}')).toBe(1);
    expect(sample(text, 'celery_tasks_total{name="ops.add",state="SUCCESS"}')).toBe(1);
    expect(sample(text, 'celery_task_runtime_seconds_count{name="ops.add"}')).toBe(1);
    expect(sample(text, 'celery_task_runtime_seconds_count{name="ops.fail"}')).toBe(1);
    expect(app.get(CeleryMetrics)?.registry).toBe(registry);
  });

  it('reports queue depth by passive declare, and the prefetch held by running tasks', async () => {
    await celery.send('ops.add', [1, 1], { queue: idleQueue });
    await celery.send('ops.add', [1, 2], { queue: idleQueue });
    await eventually(async () => (sample(await registry.metrics(), `celery_queue_depth{queue="${idleQueue}"}`) === 2 ? true : undefined));

    // Concurrency 2: two run (acked before running, acks_late off, so they hold no slot), the third waits unacked.
    const running = await Promise.all([1, 2, 3].map(() => celery.send('ops.sleep', [1500])));
    await eventually(async () => (sample(await registry.metrics(), 'celery_worker_prefetch_in_use') === 1 ? true : undefined), 5000, 'held prefetch');
    expect(sample(await registry.metrics(), 'celery_worker_prefetch_limit')).toBe(2 * 4); // concurrency × Celery's default multiplier
    await Promise.all(running.map((result) => result.get({ timeout: 10_000 })));
  });

  it('counts a broker reconnect', async () => {
    expect(sample(await registry.metrics(), 'celery_broker_reconnects_total')).toBe(0);
    await forceCloseConnection(connectionName);
    await eventually(async () => (sample(await registry.metrics(), 'celery_broker_reconnects_total') === 1 ? true : undefined), 15_000, 'a reconnect');
  });

  it('is healthy in a Terminus check while both connections are up', async () => {
    const health = app.get(HealthCheckService);
    const indicator = app.get(CeleryHealthIndicator);
    const result = await health.check([() => indicator.broker(), () => indicator.backend()]);
    expect(result.status).toBe('ok');
    expect(result.details).toMatchObject({ celery_broker: { status: 'up' }, celery_backend: { status: 'up' } });
  });
});

describe('health when the connections are down', () => {
  it('reports a broker and a database on unreachable ports as down', async () => {
    const broker = new AmqpBroker({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 300, reconnectDelayMs: 100, logger: { log() {}, warn() {}, error() {} } });
    const backend = createResultBackend({ url: 'postgresql://root@127.0.0.1:1/test' });
    await expect(broker.connect()).rejects.toThrow();
    await expect(backend.connect()).rejects.toThrow();
    const indicator = new CeleryHealthIndicator(broker, backend);
    try {
      expect(await indicator.broker()).toMatchObject({ celery_broker: { status: 'down' } });
      expect(await indicator.backend()).toMatchObject({ celery_backend: { status: 'down' } });
    } finally {
      await broker.close();
      await backend.close();
    }
  });

  it('turns down when RabbitMQ and PostgreSQL go away under a running app, and up again when they are back', async () => {
    const rabbit = new TcpFaultProxy('127.0.0.1', 5672);
    const postgres = new TcpFaultProxy('127.0.0.1', 5432);
    await Promise.all([rabbit.start(), postgres.start()]);
    const env = await createTestEnvironment('it-ops-down');
    const databaseUrl = env.databaseUrl.replace(/127\.0\.0\.1:5432/, `127.0.0.1:${postgres.port}`);
    expect(databaseUrl).not.toBe(env.databaseUrl);
    const app = await startCeleryApp(
      { broker: { url: `amqp://guest:guest@127.0.0.1:${rabbit.port}`, reconnectDelayMs: 100, maxReconnectDelayMs: 200, closeTimeoutMs: 1000 }, backend: databaseUrl, worker: false },
      [],
      [TerminusModule],
    );
    const health = app.get(HealthCheckService);
    const indicator = app.get(CeleryHealthIndicator);
    const check = () => health.check([() => indicator.broker(), () => indicator.backend(undefined, 1000)]);
    try {
      expect((await check()).status).toBe('ok');
      await Promise.all([rabbit.stop(), postgres.stop()]);
      const bothDown = (error: unknown) => {
        const response = error instanceof ServiceUnavailableException ? (error.getResponse() as { error?: object }) : {};
        return Object.keys(response.error ?? {}).length === 2 ? error : undefined;
      };
      const failure = await eventually(() => check().then(() => undefined, bothDown), 10_000, 'both checks failing');
      expect(failure).toBeInstanceOf(ServiceUnavailableException);
      expect((failure as ServiceUnavailableException).getResponse()).toMatchObject({
        status: 'error',
        error: { celery_broker: { status: 'down' }, celery_backend: { status: 'down' } },
      });
      await Promise.all([rabbit.start(), postgres.start()]);
      await eventually(() => check().then((result) => result.status === 'ok' || undefined, () => undefined), 15_000, 'a passing check');
    } finally {
      await app.close();
      await Promise.all([rabbit.stop(), postgres.stop()]);
      await env.dispose();
    }
  });
});

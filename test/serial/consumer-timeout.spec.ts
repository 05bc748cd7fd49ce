/*
 * Runs alone, after the parallel run (see the `test` script): it lowers RabbitMQ's
 * consumer_timeout for the whole broker, which would break any other test holding a message for
 * a few seconds.
 */
import { INestApplicationContext, Injectable, LoggerService, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { CeleryClient, CeleryModule, CeleryModuleOptions, CeleryTask, CeleryWorker } from '../../lib';
import { eventually } from '../support/celery-app';
import { deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { consumersOf, queueCounts } from '../support/rabbitmq-inspection';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const run = promisify(execFile);

/** The lowered timeout; RabbitMQ's default is 30 minutes. */
const CONSUMER_TIMEOUT_MS = 5_000;
const DEFAULT_CONSUMER_TIMEOUT_MS = 1_800_000;
/**
 * RabbitMQ checks the timeout on each channel's tick, every 60 s by default, so a 5 s timeout
 * alone would fire anywhere between 5 and 65 s; a 1 s tick makes it fire at 5–6 s.
 */
const CHANNEL_TICK_MS = 1_000;
const DEFAULT_CHANNEL_TICK_MS = 60_000;

/** Sets a `rabbit` application setting; channels opened afterwards use it. */
async function setRabbitSetting(name: string, value: number): Promise<void> {
  await run('rabbitmqctl', ['-q', 'eval', `application:set_env(rabbit, ${name}, ${value}).`]);
}

async function rabbitSetting(name: string): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'eval', `application:get_env(rabbit, ${name}).`]);
  return stdout.trim();
}

@Injectable()
class TimedTasks {
  readonly ranAt = new Map<string, number>();

  @CeleryTask({ name: 'timeout.mark' })
  mark(key: string): string {
    this.ranAt.set(key, Date.now());
    return key;
  }
}

/** Every line the app logs, so a reconnect would show. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(`WARN ${String(message)}`);
  }
  error(message: unknown): void {
    this.lines.push(`ERROR ${String(message)}`);
  }
}

async function startApp(options: CeleryModuleOptions, logger: LoggerService): Promise<INestApplicationContext> {
  @Module({ imports: [CeleryModule.forRoot(options)], providers: [TimedTasks] })
  class TimeoutAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TimeoutAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  return app;
}

describe("RabbitMQ's consumer_timeout and far-ETA tasks", () => {
  const apps: INestApplicationContext[] = [];
  const environments: TestEnvironment[] = [];

  beforeAll(async () => {
    await setRabbitSetting('consumer_timeout', CONSUMER_TIMEOUT_MS);
    await setRabbitSetting('channel_tick_interval', CHANNEL_TICK_MS);
    expect(await rabbitSetting('consumer_timeout')).toBe(`{ok,${CONSUMER_TIMEOUT_MS}}`);
  });

  afterAll(async () => {
    try {
      for (const app of apps) await app.close().catch(() => undefined);
      for (const env of environments) await env.dispose().catch(() => undefined);
    } finally {
      await setRabbitSetting('consumer_timeout', DEFAULT_CONSUMER_TIMEOUT_MS);
      await setRabbitSetting('channel_tick_interval', DEFAULT_CHANNEL_TICK_MS);
    }
  });

  async function workerApp(prefix: string, etaParkThresholdSeconds: number) {
    const env = await createTestEnvironment(prefix);
    environments.push(env);
    const logger = new CapturingLogger();
    const app = await startApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 2, etaParkThresholdSeconds } },
      logger,
    );
    apps.push(app);
    const [consumer] = await consumersOf(env.queue);
    expect(consumer).toBeDefined();
    return { env, app, logger, consumer, celery: app.get(CeleryClient), worker: app.get(CeleryWorker) };
  }

  it('is real: a plain consumer holding a message unacked past it gets its channel closed', async () => {
    const queue = uniqueName('serial-timeout-plain');
    const connection = await connect(RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      let deliveredAt = Date.now();
      const closed = new Promise<{ error: string; afterMs: number }>((resolve) => {
        channel.on('error', (error: Error) => resolve({ error: error.message, afterMs: Date.now() - deliveredAt }));
      });
      await channel.assertQueue(queue, { durable: false });
      channel.sendToQueue(queue, Buffer.from('held'));
      await channel.consume(queue, () => (deliveredAt = Date.now()), { noAck: false });
      const { error, afterMs } = await closed;
      expect(error).toMatch(/PRECONDITION_FAILED - delivery acknowledgement on channel \d+ timed out/);
      expect(afterMs).toBeGreaterThanOrEqual(CONSUMER_TIMEOUT_MS);
      expect(afterMs).toBeLessThan(CONSUMER_TIMEOUT_MS + 3 * CHANNEL_TICK_MS);
    } finally {
      await connection.close().catch(() => undefined);
      await deleteQueues(queue);
    }
  }, 20_000);

  it('does not touch our worker: a task due in 15 s is parked, the channel and consumer stay, other tasks run, it runs at its eta', async () => {
    const { env, app, logger, consumer, celery, worker } = await workerApp('serial-timeout-parked', 2);
    const sentAt = Date.now();
    const far = await celery.send('timeout.mark', ['far'], { countdown: 15 });
    const eta = sentAt + 15_000;
    const others: string[] = [];
    // Tasks sent while the far one waits run at once, before, during and after the lowered timeout.
    for (const at of [1_000, 4_000, 7_000, 10_000]) {
      await sleep(Math.max(sentAt + at - Date.now(), 0));
      const key = `meanwhile-${at}`;
      others.push((await (await celery.send('timeout.mark', [key])).get({ timeout: 5_000 })) as string);
      expect(worker.scheduledTasks().map((task) => task.id)).not.toContain(far.id);
      expect((await queueCounts()).get(env.queue)).toEqual({ ready: 0, unacknowledged: 0 });
    }
    expect(others).toEqual(['meanwhile-1000', 'meanwhile-4000', 'meanwhile-7000', 'meanwhile-10000']);
    expect(await far.get({ timeout: 10_000 })).toBe('far');
    expect(app.get(TimedTasks).ranAt.get('far')!).toBeGreaterThanOrEqual(eta - 5); // the client's eta, to its own ms rounding
    // Past the timeout several times over, the very same consumer on the very same channel.
    expect(await consumersOf(env.queue)).toEqual([consumer]);
    expect(logger.lines.filter((line) => /lost|reconnect|timed out|could not/i.test(line))).toEqual([]);
  }, 40_000);

  it('is what trips a worker that holds the task instead (parking off): the channel is closed and the task redelivered', async () => {
    const { env, consumer, celery, worker } = await workerApp('serial-timeout-held', 0);
    const far = await celery.send('timeout.mark', ['held'], { countdown: 15 });
    await eventually(() => (worker.scheduledTasks().some((task) => task.id === far.id) ? true : undefined), 5_000, 'the task to be held');
    const replaced = await eventually(
      async () => {
        const [now] = await consumersOf(env.queue);
        return now && now.channel !== consumer.channel ? now : undefined;
      },
      CONSUMER_TIMEOUT_MS + 5 * CHANNEL_TICK_MS,
      'RabbitMQ to close the consuming channel',
    );
    expect(replaced.channel).not.toBe(consumer.channel);
    // Redelivered on the new channel while the first copy is still held: the same task twice.
    await eventually(() => (worker.scheduledTasks().filter((task) => task.id === far.id).length === 2 ? true : undefined), 5_000, 'the redelivered copy');
  }, 30_000);
});

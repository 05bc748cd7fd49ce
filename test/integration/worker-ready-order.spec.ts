import { Injectable, LoggerService, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { CeleryClient, CeleryModule, CeleryTask, CeleryWorker } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { connect } from 'amqplib';
import { ControlServer } from '../../lib/advanced';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class ReadyTasks {
  @CeleryTask({ name: 'ready.echo' })
  echo(value: string): string {
    return value;
  }
}

/**
 * The worker's 'consuming' line is what operators, supervisors and scripts wait for before they
 * `celery inspect` it (Celery's "ready"): by then its mailbox is consumed. A task may run, and
 * kill the process, right after consuming begins, so the line cannot wait for anything after it.
 */
describe("the worker's 'consuming' line", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('it-ready-order');
  }, 60_000);

  afterAll(async () => {
    await env?.dispose();
  });

  it('comes once remote control listens, so an inspect sent on it is answered', async () => {
    const seen: { line: string; controlRunning: boolean }[] = [];
    let control: ControlServer | undefined;
    const logger: LoggerService = {
      log: (message: unknown) => {
        if (typeof message === 'string' && / consuming /.test(message)) seen.push({ line: message, controlRunning: control?.isRunning ?? false });
      },
      error: () => undefined,
      warn: () => undefined,
    };
    @Module({
      imports: [CeleryModule.forRoot({ broker: RABBITMQ_URL, defaultQueue: env.queue, worker: { hostname: `ready-${randomBytes(4).toString('hex')}@%h`, mingle: false } })],
      providers: [ReadyTasks],
    })
    class ReadyAppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ReadyAppModule] }).compile();
    control = moduleRef.get(ControlServer);
    const app = moduleRef.createNestApplication({ logger });
    try {
      await app.init();
      expect(seen).toHaveLength(1);
      expect(seen[0].controlRunning).toBe(true);
      const hostname = seen[0].line.match(/Worker (\S+) consuming/)![1];
      const replies = await app.get(CeleryClient).control.inspect({ destination: [hostname], timeout: 3000 }).ping();
      expect(replies).toEqual({ [hostname]: { ok: 'pong' } });
    } finally {
      await app.close();
    }
  }, 60_000);

  it('a stop asked for while the worker starts (a remote shutdown on its mailbox) leaves it stopped, not consuming afterwards', async () => {
    const app = await startCeleryApp({ broker: RABBITMQ_URL, defaultQueue: env.queue, worker: { autoStart: false } }, [ReadyTasks]);
    try {
      const worker = app.get(CeleryWorker);
      const starting = worker.start();
      await worker.stop();
      await starting;
      // Nothing consumes the queue: RabbitMQ counts no consumer on it.
      const amqp = await connect(RABBITMQ_URL);
      try {
        const channel = await amqp.createChannel();
        const consumers = await eventually(async () => (await channel.checkQueue(env.queue)).consumerCount, 5000, 'the queue declared');
        expect(consumers).toBe(0);
      } finally {
        await amqp.close();
      }
    } finally {
      await app.close();
    }
  }, 60_000);
});

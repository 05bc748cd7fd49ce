import { INestApplicationContext } from '@nestjs/common';
import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { CeleryClient, CeleryOutbox } from '../../lib';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The transactional outbox against real PostgreSQL and RabbitMQ: a task enqueued in a rolled-back
 * transaction is never published, a committed one is relayed and run, what is relayed is byte for
 * byte what `send` publishes, and a relay SIGKILLed mid-way loses nothing once another relay runs.
 */
describe('transactional outbox (CeleryOutbox)', () => {
  let env: TestEnvironment;
  let dataSource: DataSource;
  let amqp: ChannelModel;

  beforeAll(async () => {
    env = await createTestEnvironment('it-outbox');
    dataSource = new DataSource({ type: 'postgres', url: env.databaseUrl });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE orders (id serial PRIMARY KEY, sku text NOT NULL)');
    amqp = await connect(RABBITMQ_URL);
  }, 60_000);

  afterAll(async () => {
    await amqp?.close();
    await dataSource?.destroy();
    await env?.dispose();
  });

  const outboxRows = async () => Number((await querySql(env.databaseUrl, 'SELECT count(*) AS n FROM celery_outbox'))[0].n);

  /** Every message now in `queue`, taken off it. */
  async function drainQueue(queue: string): Promise<GetMessage[]> {
    const channel = await amqp.createChannel();
    try {
      const messages: GetMessage[] = [];
      for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) messages.push(message);
      return messages;
    } finally {
      await channel.close();
    }
  }

  /** Messages ready in `queue`; 0 while it does not exist yet (the relay declares it on its first publish). */
  async function messageCount(queue: string): Promise<number> {
    const channel = await amqp.createChannel();
    channel.on('error', () => undefined); // a missing queue closes the channel: that is the 0 below
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch {
      return 0;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  describe('in an app with a worker and the relay', () => {
    let app: INestApplicationContext;
    let outbox: CeleryOutbox;
    let celery: CeleryClient;

    beforeAll(async () => {
      app = await startCeleryApp(
        { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { queues: [env.queue] }, outbox: { dataSource } },
        [],
        [TasksModule],
      );
      outbox = app.get(CeleryOutbox);
      celery = app.get(CeleryClient);
    }, 60_000);

    afterAll(async () => {
      await app?.close();
    });

    it('publishes nothing for a rolled-back transaction and runs the task of a committed one', async () => {
      let rolledBackId: string | undefined;
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.query('INSERT INTO orders (sku) VALUES ($1)', ['refused']);
          rolledBackId = (await outbox.enqueue(manager, 'tasks.add', [1, 1])).id;
          throw new Error('order refused');
        }),
      ).rejects.toThrow('order refused');

      const committed = await dataSource.transaction(async (manager) => {
        await manager.query('INSERT INTO orders (sku) VALUES ($1)', ['accepted']);
        return outbox.enqueue(manager, 'tasks.add', [2, 2]);
      });
      expect(await committed.get({ timeout: 20_000 })).toBe(4);

      // Relayed in order: the committed task ran, so a rolled-back one would have been published before it.
      expect(rolledBackId).toBeDefined();
      expect(await celery.asyncResult(rolledBackId!).state()).toBe('PENDING');
      expect(await outboxRows()).toBe(0);
      expect(await querySql(env.databaseUrl, 'SELECT sku FROM orders')).toEqual([{ sku: 'accepted' }]);
    }, 60_000);

    it('relays byte for byte the message send() publishes', async () => {
      const queue = uniqueName('it-outbox-bytes');
      env.alsoRemove(queue);
      // The same call twice, once sent directly and once through the outbox (same id, so the same bytes are expected).
      const options = { queue, taskId: `outbox-bytes-${Date.now()}`, kwargs: { note: 'ü' }, eta: new Date(Date.now() + 60_000), priority: 3, headers: { tenant: 'acme' } };
      await celery.send('tasks.add', [20, 22], options);
      await dataSource.transaction((manager) => outbox.enqueue(manager, 'tasks.add', [20, 22], options));
      await eventually(async () => ((await messageCount(queue)) === 2 ? true : undefined), 20_000, 'both messages in the queue');
      const [direct, relayed] = await drainQueue(queue);
      expect(relayed.content.equals(direct.content)).toBe(true);
      expect(relayed.properties).toEqual(direct.properties);
      expect(relayed.fields.routingKey).toBe(direct.fields.routingKey);
      expect(relayed.fields.exchange).toBe(direct.fields.exchange);
    }, 60_000);

    it('refuses invalid send options before writing anything', async () => {
      await expect(dataSource.transaction((manager) => outbox.enqueue(manager, 'tasks.add', [1, 2], { priority: 999 }))).rejects.toThrow(/priority/);
      expect(await outboxRows()).toBe(0);
    });
  });

  it('loses no committed task when a relay is SIGKILLed mid-way: another relay publishes the rest (at least once)', async () => {
    const queue = uniqueName('it-outbox-kill');
    env.alsoRemove(queue);
    const total = 1000;
    const batchSize = 10;
    // A producer that writes the outbox but relays nothing itself: only the child processes relay.
    const producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: false, defaultQueue: queue, worker: false, outbox: { dataSource, relay: false } });
    const ids: string[] = [];
    try {
      const outbox = producer.get(CeleryOutbox);
      for (let start = 0; start < total; start += 200) {
        await dataSource.transaction(async (manager) => {
          for (let index = start; index < start + 200; index++) ids.push((await outbox.enqueue(manager, 'tasks.add', [index, 0])).id);
        });
      }
    } finally {
      await producer.close();
    }
    expect(await outboxRows()).toBe(total);

    const relayEnv = { CELERY_BROKER_URL: RABBITMQ_URL, OUTBOX_DATABASE_URL: env.databaseUrl, CELERY_DEFAULT_QUEUE: queue, OUTBOX_BATCH_SIZE: String(batchSize) };
    const startRelay = (): SampleProcess => startNodeProcess([join(ROOT, 'test', 'support', 'outbox-relay-process.js')], relayEnv, 'outbox relay');

    const doomed = startRelay();
    await eventually(async () => ((await messageCount(queue)) > 0 ? true : undefined), 30_000, `the first relayed message\n${doomed.output()}`);
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    const leftAfterKill = await outboxRows();
    const publishedBeforeKill = await messageCount(queue);
    // Killed mid-way: some published, some still waiting in the outbox.
    expect(leftAfterKill).toBeGreaterThan(0);
    expect(publishedBeforeKill).toBeGreaterThan(0);

    // Two relays at once take over (SKIP LOCKED keeps them off each other's rows).
    const successors = [startRelay(), startRelay()];
    try {
      await eventually(async () => ((await outboxRows()) === 0 ? true : undefined), 60_000, 'the outbox to be emptied by the new relays');
    } finally {
      for (const relay of successors) relay.child.kill('SIGTERM');
      await Promise.all(successors.map((relay) => relay.exited));
    }
    const relayedIds = (await drainQueue(queue)).map((message) => String(message.properties.headers?.id));
    const unique = new Set(relayedIds);
    const missing = ids.filter((id) => !unique.has(id));
    expect(missing).toEqual([]);
    // Duplicates only from the batch the killed relay had published but not yet deleted.
    const duplicates = relayedIds.length - unique.size;
    expect(duplicates).toBeLessThanOrEqual(batchSize);
    process.stdout.write(
      `outbox kill test: ${total} committed, ${publishedBeforeKill} published before the SIGKILL with ${leftAfterKill} left in the outbox; ` +
        `${unique.size} distinct delivered, ${duplicates} duplicate(s)\n`,
    );
  }, 180_000);
});

import { AmqpBroker } from '../../lib/broker/amqp/amqp-broker';
import type { DeliveredMessage, ExchangeType, OutgoingMessage, QueueDeclaration } from '../../lib/broker/broker.interface';
import type { BrokerLogger } from '../../lib/broker/broker-logger';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { createBroker } from '../../lib/broker/create-broker';
import { MemoryBroker } from '../../lib/broker/memory/memory-broker';
import { topicMatches, splitTopicKey } from '../../lib/broker/memory/topic-pattern';
import { BrokerConnectionError } from '../../lib/errors/broker-connection.error';
import { PublishError } from '../../lib/errors/publish.error';
import { QueueDeclarationError } from '../../lib/errors/queue-declaration.error';
import { UnsupportedBrokerUrlError } from '../../lib/errors/unsupported-broker-url.error';

const silent: BrokerLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Lets every pending setImmediate batch run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

function queue(name: string, options: Partial<QueueDeclaration> = {}): QueueDeclaration {
  return { name, durable: true, exclusive: false, autoDelete: false, arguments: {}, ...options };
}

function boundQueue(name: string, exchange: string, type: ExchangeType, routingKey: string, args: Record<string, unknown> = {}): QueueDeclaration {
  return queue(name, { exchange: { name: exchange, type, durable: true }, routingKey, arguments: args });
}

function message(routingKey: string, id: string, extra: Partial<OutgoingMessage> & { priority?: number; expiration?: string } = {}): OutgoingMessage {
  const { priority, expiration, ...rest } = extra;
  return {
    exchange: '',
    routingKey,
    body: Buffer.from(id),
    properties: { contentType: 'application/json', correlationId: id, headers: { id }, priority, expiration },
    ...rest,
  };
}

/** Consumes into an array; `ack` settles each message as it arrives when set. */
async function collect(broker: MemoryBroker, queues: QueueDeclaration[], prefetch: number, ack = false) {
  const received: DeliveredMessage[] = [];
  const consumer = await broker.consume({
    queues,
    prefetch,
    onMessage: (delivered) => {
      received.push(delivered);
      if (ack) delivered.ack();
    },
  });
  return { received, consumer, ids: () => received.map((delivered) => delivered.properties.correlationId) };
}

describe('MemoryBroker', () => {
  let broker: MemoryBroker;

  beforeEach(() => {
    broker = new MemoryBroker({ logger: silent });
  });

  afterEach(async () => {
    await broker.close();
  });

  describe('routing', () => {
    it('routes through the default exchange by queue name, with properties and delivery info', async () => {
      await broker.declareQueue(queue('tasks'));
      await broker.publish(message('tasks', 'a'));
      const { received } = await collect(broker, [queue('tasks')], 10);
      await settle();
      expect(received).toHaveLength(1);
      expect(received[0].body.toString()).toBe('a');
      expect(received[0].properties).toMatchObject({ contentType: 'application/json', correlationId: 'a', headers: { id: 'a' } });
      expect(received[0].deliveryInfo).toEqual({ exchange: '', routingKey: 'tasks', redelivered: false, queue: 'tasks' });
    });

    it('rejects an unroutable mandatory message with a PublishError and drops a non-mandatory one', async () => {
      const error = await broker.publish(message('nobody', 'x')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).message).toContain('routing key "nobody"');
      expect((error as PublishError).message).toMatch(/declare the queue/);
      await expect(broker.publish({ ...message('nobody', 'x'), mandatory: false })).resolves.toBeUndefined();
    });

    it('rejects a publish to an exchange that does not exist', async () => {
      const error = await broker.publish({ ...message('key', 'x'), exchange: 'missing' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).message).toContain('exchange "missing"');
    });

    it('routes direct exchanges by exact binding key', async () => {
      await broker.declareQueue(boundQueue('q-a', 'jobs', 'direct', 'a'));
      await broker.declareQueue(boundQueue('q-b', 'jobs', 'direct', 'b'));
      await broker.publish({ ...message('a', 'to-a'), exchange: 'jobs' });
      const a = await collect(broker, [queue('q-a', { exchange: { name: 'jobs', type: 'direct', durable: true }, routingKey: 'a' })], 0);
      await settle();
      expect(a.ids()).toEqual(['to-a']);
      await expect(broker.publish({ ...message('c', 'to-c'), exchange: 'jobs' })).rejects.toBeInstanceOf(PublishError);
    });

    it('routes topic exchanges with * (one word) and # (zero or more words)', async () => {
      await broker.declareQueue(boundQueue('images', 'media', 'topic', 'media.images.#'));
      await broker.declareQueue(boundQueue('resizes', 'media', 'topic', 'media.*.resize'));
      await broker.publish({ ...message('media.images.resize', 'both'), exchange: 'media' });
      await broker.publish({ ...message('media.images', 'images-only'), exchange: 'media' });
      await broker.publish({ ...message('media.video.resize', 'resizes-only'), exchange: 'media' });
      await expect(broker.publish({ ...message('media.video.resize.large', 'nobody'), exchange: 'media' })).rejects.toBeInstanceOf(PublishError);
      const images = await collect(broker, [boundQueue('images', 'media', 'topic', 'media.images.#')], 0);
      const resizes = await collect(broker, [boundQueue('resizes', 'media', 'topic', 'media.*.resize')], 0);
      await settle();
      expect(images.ids()).toEqual(['both', 'images-only']);
      expect(resizes.ids()).toEqual(['both', 'resizes-only']);
    });

    it('matches topic patterns like RabbitMQ', () => {
      const matches = (pattern: string, key: string): boolean => topicMatches(splitTopicKey(pattern), key);
      expect(matches('#', '')).toBe(true);
      expect(matches('#', 'a.b.c')).toBe(true);
      expect(matches('a.#', 'a')).toBe(true);
      expect(matches('a.#.z', 'a.z')).toBe(true);
      expect(matches('a.#.z', 'a.b.c.z')).toBe(true);
      expect(matches('a.#.z', 'a.b.c')).toBe(false);
      expect(matches('*', 'a')).toBe(true);
      expect(matches('*', 'a.b')).toBe(false);
      expect(matches('*.b', 'a.b')).toBe(true);
      expect(matches('worker.#', 'worker.heartbeat')).toBe(true);
      expect(matches('task.#', 'worker.heartbeat')).toBe(false);
      expect(matches('#.#.#.#.#.#.#.x', 'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.y')).toBe(false);
    });

    it('copies fanout messages to every bound queue whatever the key', async () => {
      await broker.declareQueue(boundQueue('one', 'broadcast', 'fanout', ''));
      await broker.declareQueue(boundQueue('two', 'broadcast', 'fanout', 'ignored'));
      await broker.publish({ ...message('any', 'hello'), exchange: 'broadcast' });
      const one = await collect(broker, [boundQueue('one', 'broadcast', 'fanout', '')], 0);
      const two = await collect(broker, [boundQueue('two', 'broadcast', 'fanout', 'ignored')], 0);
      await settle();
      expect(one.ids()).toEqual(['hello']);
      expect(two.ids()).toEqual(['hello']);
    });

    it('declares a lone exchange, so publishing to it works before any queue is bound', async () => {
      await broker.declareExchange({ name: 'celeryev', type: 'topic', durable: true });
      await expect(broker.publish({ ...message('worker.heartbeat', 'e'), exchange: 'celeryev', mandatory: false })).resolves.toBeUndefined();
      const error = await broker.declareExchange({ name: 'celeryev', type: 'fanout', durable: true }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueueDeclarationError);
      expect((error as Error).message).toContain("inequivalent arg 'type'");
    });
  });

  describe('delivery', () => {
    it('delivers asynchronously, never inside publish()', async () => {
      await broker.declareQueue(queue('tasks'));
      let inPublish = false;
      let deliveredInsidePublish = false;
      await broker.consume({
        queues: [queue('tasks')],
        prefetch: 0,
        onMessage: (delivered) => {
          deliveredInsidePublish ||= inPublish;
          delivered.ack();
        },
      });
      await settle();
      inPublish = true;
      const published = broker.publish(message('tasks', 'a'));
      inPublish = false;
      await published;
      await settle();
      expect(deliveredInsidePublish).toBe(false);
    });

    it('holds at most `prefetch` unacknowledged messages per consumer', async () => {
      await broker.declareQueue(queue('tasks'));
      for (let index = 0; index < 5; index += 1) await broker.publish(message('tasks', `m${index}`));
      const { received, ids } = await collect(broker, [queue('tasks')], 2);
      await settle();
      expect(ids()).toEqual(['m0', 'm1']);
      received[0].ack();
      await settle();
      expect(ids()).toEqual(['m0', 'm1', 'm2']);
      received[1].ack();
      received[2].ack();
      await settle();
      expect(ids()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('applies one prefetch window across all queues of a consumer (Celery’s global QoS)', async () => {
      await broker.declareQueue(queue('q1'));
      await broker.declareQueue(queue('q2'));
      await broker.publish(message('q1', 'a'));
      await broker.publish(message('q2', 'b'));
      const { ids } = await collect(broker, [queue('q1'), queue('q2')], 1);
      await settle();
      expect(ids()).toHaveLength(1);
    });

    it('shares a queue round-robin between its consumers', async () => {
      await broker.declareQueue(queue('tasks'));
      const first = await collect(broker, [queue('tasks')], 0, true);
      const second = await collect(broker, [queue('tasks')], 0, true);
      for (let index = 0; index < 6; index += 1) await broker.publish(message('tasks', `m${index}`));
      await settle();
      expect(first.ids()).toEqual(['m0', 'm2', 'm4']);
      expect(second.ids()).toEqual(['m1', 'm3', 'm5']);
    });

    it('puts a message rejected with requeue back at the head, flagged as redelivered', async () => {
      await broker.declareQueue(queue('tasks'));
      await broker.publish(message('tasks', 'first'));
      await broker.publish(message('tasks', 'second'));
      const { received, ids } = await collect(broker, [queue('tasks')], 1);
      await settle();
      received[0].reject(true);
      await settle();
      expect(ids()).toEqual(['first', 'first']);
      expect(received[1].deliveryInfo.redelivered).toBe(true);
      received[1].ack();
      await settle();
      expect(ids()).toEqual(['first', 'first', 'second']);
      expect(received[2].deliveryInfo.redelivered).toBe(false);
    });

    it('dead-letters a message rejected without requeue, with an x-death header', async () => {
      await broker.declareQueue(boundQueue('dead', 'dlx', 'fanout', ''));
      await broker.declareQueue(queue('tasks', { arguments: { 'x-dead-letter-exchange': 'dlx' } }));
      await broker.publish(message('tasks', 'doomed'));
      const source = await collect(broker, [queue('tasks', { arguments: { 'x-dead-letter-exchange': 'dlx' } })], 1);
      await settle();
      source.received[0].reject(false);
      const dead = await collect(broker, [boundQueue('dead', 'dlx', 'fanout', '')], 0);
      await settle();
      expect(dead.ids()).toEqual(['doomed']);
      expect(dead.received[0].deliveryInfo).toEqual({ exchange: 'dlx', routingKey: 'tasks', redelivered: false, queue: 'dead' });
      expect(dead.received[0].properties.headers?.['x-death']).toEqual([
        expect.objectContaining({ count: 1, reason: 'rejected', queue: 'tasks', exchange: '', 'routing-keys': ['tasks'] }),
      ]);
    });

    it('uses x-dead-letter-routing-key when given, and drops rejected messages of queues without a dead-letter exchange', async () => {
      await broker.declareQueue(boundQueue('parking', 'dlx', 'direct', 'parked'));
      const source = queue('tasks', { arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'parked' } });
      await broker.declareQueue(source);
      await broker.declareQueue(queue('plain'));
      await broker.publish(message('tasks', 'to-park'));
      await broker.publish(message('plain', 'dropped'));
      const consumer = await collect(broker, [source, queue('plain')], 0);
      await settle();
      for (const delivered of consumer.received) delivered.reject(false);
      const parking = await collect(broker, [boundQueue('parking', 'dlx', 'direct', 'parked')], 0);
      await settle();
      expect(parking.ids()).toEqual(['to-park']);
      expect(consumer.ids()).toEqual(['to-park', 'dropped']);
    });

    it('delivers higher priorities first on x-max-priority queues and keeps FIFO elsewhere', async () => {
      const prioritized = queue('prio', { arguments: { 'x-max-priority': 10 } });
      await broker.declareQueue(prioritized);
      await broker.declareQueue(queue('fifo'));
      for (const [id, priority] of [['low', 1], ['none', undefined], ['high', 9], ['capped', 200], ['mid', 5]] as const) {
        await broker.publish(message('prio', id, { priority }));
        await broker.publish(message('fifo', id, { priority }));
      }
      const prio = await collect(broker, [prioritized], 0, true);
      const fifo = await collect(broker, [queue('fifo')], 0, true);
      await settle();
      // 200 counts as the maximum, 10, which outranks 9.
      expect(prio.ids()).toEqual(['capped', 'high', 'mid', 'low', 'none']);
      expect(fifo.ids()).toEqual(['low', 'none', 'high', 'capped', 'mid']);
    });

    it('drops messages whose expiration (or the queue’s x-message-ttl) has passed by delivery time', async () => {
      await broker.declareQueue(boundQueue('expired', 'dlx', 'fanout', ''));
      const withTtl = queue('short-lived', { arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': 'dlx' } });
      await broker.declareQueue(queue('tasks'));
      await broker.declareQueue(withTtl);
      await broker.publish(message('tasks', 'stale', { expiration: '10' }));
      await broker.publish(message('tasks', 'fresh', { expiration: '60000' }));
      await broker.publish(message('tasks', 'forever'));
      await broker.publish(message('short-lived', 'ttl'));
      await new Promise((resolve) => setTimeout(resolve, 40));
      const tasks = await collect(broker, [queue('tasks')], 0, true);
      const shortLived = await collect(broker, [withTtl], 0, true);
      const dead = await collect(broker, [boundQueue('expired', 'dlx', 'fanout', '')], 0, true);
      await settle();
      expect(tasks.ids()).toEqual(['fresh', 'forever']);
      expect(shortLived.ids()).toEqual([]);
      expect(dead.ids()).toEqual(['ttl']);
      expect(dead.received[0].properties.headers?.['x-death']).toEqual([expect.objectContaining({ reason: 'expired', queue: 'short-lived' })]);
    });

    it('expires messages in a queue nobody consumes, dead-lettering them through exchange-to-exchange bindings', async () => {
      await broker.declareExchange({ name: 'hop', type: 'topic', durable: true });
      await broker.declareQueue(boundQueue('landed', 'final', 'direct', 'tasks'));
      await broker.bindExchange('final', 'hop', 'tasks.#');
      await broker.bindExchange('hop', 'final', '#'); // a cycle: each exchange is visited once
      await broker.declareQueue(queue('waiting', { arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': 'hop', 'x-dead-letter-routing-key': 'tasks' } }));
      await broker.publish(message('waiting', 'later'));
      await new Promise((resolve) => setTimeout(resolve, 60));
      const landed = await collect(broker, [boundQueue('landed', 'final', 'direct', 'tasks')], 0, true);
      await settle();
      expect(landed.ids()).toEqual(['later']);
      expect(landed.received[0].deliveryInfo).toMatchObject({ exchange: 'hop', routingKey: 'tasks' });
    });

    it('refuses to bind an exchange that does not exist (404), as RabbitMQ does', async () => {
      await broker.declareExchange({ name: 'present', type: 'topic', durable: true });
      const error = await broker.bindExchange('missing', 'present', '#').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueueDeclarationError);
      expect(error).toMatchObject({ entity: 'exchange binding', entityName: 'missing', replyCode: 404 });
    });

    it('rejects an expiration that is not a number of milliseconds', async () => {
      await broker.declareQueue(queue('tasks'));
      await expect(broker.publish(message('tasks', 'x', { expiration: '1.5' }))).rejects.toBeInstanceOf(PublishError);
    });

    it('ignores a second settle, and keeps dispatching when a handler throws', async () => {
      await broker.declareQueue(queue('tasks'));
      const errors: string[] = [];
      const noisy = new MemoryBroker({ logger: { ...silent, error: (line) => errors.push(line) } });
      await noisy.declareQueue(queue('tasks'));
      const received: DeliveredMessage[] = [];
      await noisy.consume({
        queues: [queue('tasks')],
        prefetch: 0,
        onMessage: (delivered) => {
          received.push(delivered);
          delivered.ack();
          delivered.ack();
          delivered.reject(true);
          throw new Error('handler bug');
        },
      });
      await noisy.publish(message('tasks', 'a'));
      await noisy.publish(message('tasks', 'b'));
      await settle();
      expect(received.map((delivered) => delivered.properties.correlationId)).toEqual(['a', 'b']);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toContain('handler bug');
      await noisy.close();
    });
  });

  describe('consumers and lifecycle', () => {
    it('stops deliveries on cancel() while delivered messages can still be settled', async () => {
      await broker.declareQueue(queue('tasks'));
      await broker.publish(message('tasks', 'held'));
      const { received, consumer, ids } = await collect(broker, [queue('tasks')], 5);
      await settle();
      await consumer.cancel();
      await broker.publish(message('tasks', 'later'));
      await settle();
      expect(ids()).toEqual(['held']);
      received[0].reject(true);
      const next = await collect(broker, [queue('tasks')], 5);
      await settle();
      expect(next.ids()).toEqual(['held', 'later']);
      expect(next.received[0].deliveryInfo.redelivered).toBe(true);
    });

    it('deletes an auto-delete queue when its last consumer is cancelled', async () => {
      const replies = queue('replies', { autoDelete: true, durable: false });
      const { consumer } = await collect(broker, [replies], 0);
      await broker.publish(message('replies', 'r'));
      await settle();
      await consumer.cancel();
      await expect(broker.publish(message('replies', 'too-late'))).rejects.toBeInstanceOf(PublishError);
    });

    it('gives unsettled messages back to the queue when the broker closes, and settling them afterwards is a no-op', async () => {
      const shared = createBroker('memory://lifecycle-test', { logger: silent }) as MemoryBroker;
      const other = createBroker('memory://lifecycle-test', { logger: silent }) as MemoryBroker;
      await shared.declareQueue(queue('tasks'));
      await shared.publish(message('tasks', 'in-flight'));
      const { received } = await collect(shared, [queue('tasks')], 1);
      await settle();
      await shared.close();
      expect(() => received[0].ack()).not.toThrow();
      await expect(shared.publish(message('tasks', 'x'))).rejects.toBeInstanceOf(PublishError);
      await expect(shared.declareQueue(queue('tasks'))).rejects.toBeInstanceOf(BrokerConnectionError);

      // Another broker on the same memory:// URL sees the queue and gets the message again.
      const survivor = await collect(other, [queue('tasks')], 1, true);
      await settle();
      expect(survivor.ids()).toEqual(['in-flight']);
      expect(survivor.received[0].deliveryInfo.redelivered).toBe(true);
      await other.close();
    });
  });

  describe('queues added and cancelled while consuming (Celery add_consumer / cancel_consumer)', () => {
    it('declares an added queue and consumes it under the same prefetch window as the others', async () => {
      await broker.declareQueue(queue('first'));
      const { received, consumer, ids } = await collect(broker, [queue('first')], 1);
      await consumer.addQueue(boundQueue('added', 'added-exchange', 'direct', 'added-key'));
      await broker.publish({ ...message('added-key', 'b1'), exchange: 'added-exchange' });
      await broker.publish(message('first', 'a1'));
      await broker.publish({ ...message('added-key', 'b2'), exchange: 'added-exchange' });
      await settle();
      // One slot for both queues: the second message waits until the first is settled.
      expect(received).toHaveLength(1);
      received[0].ack();
      await settle();
      expect(received).toHaveLength(2);
      received[1].ack();
      await settle();
      expect(ids().sort()).toEqual(['a1', 'b1', 'b2']);
      expect(received.map((delivered) => delivered.deliveryInfo.queue).sort()).toEqual(['added', 'added', 'first']);
    });

    it('does nothing for a queue consumed already: one cancelQueue() then stops it', async () => {
      const { consumer, ids } = await collect(broker, [queue('tasks')], 0, true);
      await consumer.addQueue(queue('tasks'));
      await broker.publish(message('tasks', 'before'));
      await settle();
      await consumer.cancelQueue('tasks');
      await broker.publish(message('tasks', 'after'));
      await settle();
      expect(ids()).toEqual(['before']);
      expect(await broker.queueDepth('tasks')).toBe(1);
    });

    it('stops deliveries of a cancelled queue only: later messages stay in it, the others flow, a held one can still be settled', async () => {
      await broker.declareQueue(queue('kept'));
      await broker.declareQueue(queue('dropped'));
      await broker.publish(message('dropped', 'held'));
      const { received, consumer, ids } = await collect(broker, [queue('kept'), queue('dropped')], 0);
      await settle();
      expect(ids()).toEqual(['held']);
      await consumer.cancelQueue('dropped');
      await consumer.cancelQueue('never-consumed'); // ignored
      await broker.publish(message('dropped', 'stays'));
      await broker.publish(message('kept', 'flows'));
      await settle();
      expect(ids()).toEqual(['held', 'flows']);
      expect(await broker.queueDepth('dropped')).toBe(1);
      received[0].ack();
      expect(await broker.queueDepth('dropped')).toBe(1);

      // Added again, it is consumed again from where it stands.
      await consumer.addQueue(queue('dropped'));
      await settle();
      expect(ids()).toEqual(['held', 'flows', 'stays']);
    });

    it('refuses to add a queue declared differently (PRECONDITION_FAILED) and consumes nothing new', async () => {
      await broker.declareQueue(celeryTaskQueue('priority', { maxPriority: 10 }));
      await broker.publish(message('priority', 'p'));
      const { consumer, ids } = await collect(broker, [queue('tasks')], 0, true);
      await expect(consumer.addQueue(celeryTaskQueue('priority'))).rejects.toBeInstanceOf(QueueDeclarationError);
      await settle();
      expect(ids()).toEqual([]);
      expect(await broker.queueDepth('priority')).toBe(1);
    });
  });

  describe('declarations', () => {
    it('accepts an identical re-declaration and refuses one with other arguments or flags', async () => {
      await broker.declareQueue(celeryTaskQueue('tasks'));
      await expect(broker.declareQueue(celeryTaskQueue('tasks'))).resolves.toBeUndefined();

      const error = await broker.declareQueue(celeryTaskQueue('tasks', { maxPriority: 10 })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueueDeclarationError);
      expect((error as QueueDeclarationError).replyCode).toBe(406);
      expect((error as Error).message).toContain('queue "tasks"');
      expect((error as Error).message).toContain("inequivalent arg 'x-max-priority'");
      expect((error as Error).message).toContain('Python Celery workers and clients too');

      await expect(broker.declareQueue(celeryTaskQueue('tasks', { durable: false }))).rejects.toThrow("inequivalent arg 'durable'");
      await expect(broker.declareQueue(celeryTaskQueue('other', { exchange: 'tasks', exchangeType: 'topic' }))).rejects.toThrow(
        "inequivalent arg 'type' for exchange 'tasks'",
      );
      await expect(broker.consume({ queues: [celeryTaskQueue('tasks', { maxPriority: 10 })], prefetch: 1, onMessage: () => undefined })).rejects.toBeInstanceOf(
        QueueDeclarationError,
      );
    });
  });
});

describe('celeryTaskQueue', () => {
  it('is what Celery declares for a task queue by default', () => {
    expect(celeryTaskQueue('celery')).toEqual({
      name: 'celery',
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {},
      exchange: { name: 'celery', type: 'direct', durable: true, autoDelete: false },
      routingKey: 'celery',
    });
  });

  it('maps kombu options to RabbitMQ arguments (seconds become integer milliseconds)', () => {
    const declaration = celeryTaskQueue('images', {
      maxPriority: 10,
      deadLetterExchange: 'dlx',
      deadLetterRoutingKey: 'dead',
      queueType: 'quorum',
      expires: 1.5,
      messageTtl: 0.1,
      maxLength: 1000,
      arguments: { 'x-overflow': 'reject-publish', 'x-max-priority': 3 },
      exchange: 'media',
      exchangeType: 'topic',
      routingKey: 'media.images.#',
    });
    expect(declaration.arguments).toEqual({
      'x-overflow': 'reject-publish',
      'x-max-priority': 10,
      'x-dead-letter-exchange': 'dlx',
      'x-dead-letter-routing-key': 'dead',
      'x-queue-type': 'quorum',
      'x-expires': 1500,
      'x-message-ttl': 100,
      'x-max-length': 1000,
    });
    expect(declaration.exchange).toEqual({ name: 'media', type: 'topic', durable: true, autoDelete: false });
    expect(declaration.routingKey).toBe('media.images.#');
    expect(celeryTaskQueue('mine', { exclusive: true }).autoDelete).toBe(true);
  });
});

describe('createBroker', () => {
  it('picks the broker from the URL scheme', async () => {
    expect(createBroker(undefined)).toBeInstanceOf(MemoryBroker);
    expect(createBroker('memory://')).toBeInstanceOf(MemoryBroker);
    for (const url of ['amqp://guest:guest@localhost:5672//', 'amqps://u:p@rabbit:5671/prod', 'pyamqp://guest@localhost//']) {
      const broker = createBroker(url, { logger: silent });
      expect(broker).toBeInstanceOf(AmqpBroker);
      expect(broker.description).not.toContain(':p@');
      await broker.close();
    }
  });

  it('names unsupported schemes, masked, and lists the supported ones', () => {
    const kafka = (() => {
      try {
        createBroker('kafka://:hunter2@cache:9092/0');
      } catch (error) {
        return error as Error;
      }
    })();
    expect(kafka).toBeInstanceOf(UnsupportedBrokerUrlError);
    expect(kafka?.message).toContain('scheme "kafka://" is not a known transport');
    expect(kafka?.message).toContain('amqp://, amqps://, pyamqp://, redis://, rediss://, sentinel://, sqs://, memory://');
    expect(kafka?.message).not.toContain('hunter2');
    expect(() => createBroker('zmq://key:secret@region')).toThrow(/scheme "zmq:\/\/" is not a known transport/);
    expect(() => createBroker('localhost:5672')).toThrow(/it has no scheme/);
  });
});

import type { Redis } from 'ioredis';
import type { DeliveredMessage, QueueDeclaration } from '../../lib/broker/broker.interface';
import { RedisBroker } from '../../lib/broker/redis/redis-broker';
import { PublishError } from '../../lib/errors/publish.error';
import { UnsupportedOnRedisError } from '../../lib/errors/unsupported-on-redis.error';
import { eventually } from '../support/celery-app';
import { uniqueName } from '../support/rabbitmq';
import { redisClient, redisUrl } from '../support/redis';

/** Its own database: these consumers restore with a short visibility timeout, which reaches every unacked message of the database. */
const DB = 7;
const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** The RedisBroker on its own, against the real Redis: kombu's semantics where they differ from RabbitMQ's. */
describe('RedisBroker against Redis', () => {
  let redis: Redis;
  let broker: RedisBroker;
  const created: string[] = [];

  function queue(prefix: string, exchange?: { name: string; type: 'direct' | 'topic' | 'fanout' }, routingKey?: string): QueueDeclaration {
    const name = uniqueName(prefix);
    created.push(name);
    if (exchange) created.push(exchange.name);
    return { name, durable: true, exclusive: false, autoDelete: false, arguments: {}, ...(exchange ? { exchange: { ...exchange, durable: true }, routingKey } : {}) };
  }

  function message(routingKey: string, exchange = '', text = 'hello', priority?: number) {
    return { exchange, routingKey, body: Buffer.from(text), properties: { contentType: 'text/plain', contentEncoding: 'utf-8', deliveryMode: 2 as const, headers: { h: 1 }, ...(priority === undefined ? {} : { priority }) } };
  }

  function collect(into: DeliveredMessage[]) {
    return (delivered: DeliveredMessage) => void into.push(delivered);
  }

  beforeAll(async () => {
    redis = await redisClient(DB);
    broker = new RedisBroker({ url: redisUrl(DB), logger: SILENT, connectionName: 'nestjs-celery-broker-spec' });
    await broker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    if (redis) {
      for (const name of created) await redis.del(name, `${name}\x06\x163`, `${name}\x06\x166`, `${name}\x06\x169`, `_kombu.binding.${name}`);
      redis.disconnect();
    }
  });

  it('delivers what it published with properties, headers and delivery info, and acks through the unacked hash', async () => {
    const q = queue('rb-basic');
    await broker.declareQueue(q);
    await broker.publish(message(q.name, '', 'hello', 4));
    expect(await broker.queueDepth(q.name)).toBe(1);
    expect(await redis.llen(`${q.name}\x06\x163`)).toBe(1);
    const received: DeliveredMessage[] = [];
    const consumer = await broker.consume({ queues: [q], prefetch: 1, onMessage: collect(received) });
    const [delivered] = await eventually(() => (received.length === 1 ? received : undefined));
    expect(delivered.body.toString()).toBe('hello');
    expect(delivered.properties).toMatchObject({ contentType: 'text/plain', contentEncoding: 'utf-8', deliveryMode: 2, headers: { h: 1 }, priority: 4 });
    expect(delivered.deliveryInfo).toEqual({ exchange: '', routingKey: q.name, redelivered: false, queue: q.name });
    expect(await redis.hexists('unacked', (delivered as unknown as { tag: string }).tag)).toBe(1);
    delivered.ack();
    await eventually(async () => ((await redis.hlen('unacked')) === 0 ? true : undefined));
    expect(await broker.queueDepth(q.name)).toBe(0);
    await consumer.cancel();
  });

  it('requeues a rejected message marked redelivered, and drops one rejected without requeue', async () => {
    const q = queue('rb-reject');
    await broker.publish(message(q.name));
    const received: DeliveredMessage[] = [];
    const consumer = await broker.consume({ queues: [q], prefetch: 1, onMessage: collect(received) });
    (await eventually(() => received[0])).reject(true);
    const again = await eventually(() => received[1]);
    expect(again.deliveryInfo.redelivered).toBe(true);
    expect(again.properties.headers).toMatchObject({ h: 1, redelivered: true }); // kombu's header too
    again.reject(false);
    await eventually(async () => ((await redis.hlen('unacked')) === 0 ? true : undefined));
    expect(await broker.queueDepth(q.name)).toBe(0);
    expect(received).toHaveLength(2);
    await consumer.cancel();
  });

  it('never holds more unsettled messages than the prefetch count', async () => {
    const q = queue('rb-prefetch');
    for (let index = 0; index < 5; index++) await broker.publish(message(q.name, '', String(index)));
    const received: DeliveredMessage[] = [];
    const consumer = await broker.consume({ queues: [q], prefetch: 2, onMessage: collect(received) });
    await eventually(() => (received.length === 2 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toHaveLength(2);
    expect(await broker.queueDepth(q.name)).toBe(3);
    received[0].ack();
    await eventually(() => (received.length === 3 ? true : undefined));
    await consumer.setPrefetch(10);
    await eventually(() => (received.length === 5 ? true : undefined));
    for (const delivered of received) delivered.ack();
    await consumer.cancel();
  });

  it('routes through the binding sets: direct by key, topic by kombu pattern; unroutable mandatory messages are refused', async () => {
    const topic = { name: uniqueName('rb-topic-x'), type: 'topic' as const };
    const images = queue('rb-images', topic, 'media.images.#');
    const all = queue('rb-all', topic, '#');
    await broker.declareQueue(images);
    await broker.declareQueue(all);
    await broker.publish(message('media.images.resize', topic.name));
    await broker.publish(message('audio.mp3', topic.name));
    expect([await broker.queueDepth(images.name), await broker.queueDepth(all.name)]).toEqual([1, 2]);
    const direct = { name: uniqueName('rb-direct-x'), type: 'direct' as const };
    const bound = queue('rb-bound', direct, 'key');
    await broker.declareQueue(bound);
    await expect(broker.publish(message('other', direct.name))).rejects.toThrow(PublishError);
    await broker.publish({ ...message('other', direct.name), mandatory: false }); // dropped quietly, as kombu does
    await broker.publish(message('key', direct.name));
    expect(await broker.queueDepth(bound.name)).toBe(1);
  });

  it('broadcasts a fanout publish to every subscribed queue, and refuses exchange-to-exchange bindings', async () => {
    const fanout = { name: uniqueName('rb-fanout-x'), type: 'fanout' as const };
    const first = queue('rb-fan1', fanout, '');
    const second = queue('rb-fan2', fanout, '');
    const received: DeliveredMessage[] = [];
    const consumers = [await broker.consume({ queues: [first], prefetch: 1, onMessage: collect(received) }), await broker.consume({ queues: [second], prefetch: 1, onMessage: collect(received) })];
    await broker.publish(message('', fanout.name, 'to all'));
    await eventually(() => (received.length === 2 ? true : undefined));
    expect(received.map((delivered) => delivered.deliveryInfo.queue).sort()).toEqual([first.name, second.name].sort());
    expect(received.every((delivered) => delivered.body.toString() === 'to all')).toBe(true);
    for (const consumer of consumers) await consumer.cancel();
    await expect(broker.bindExchange(fanout.name, 'celeryev', '#')).rejects.toThrow(UnsupportedOnRedisError);
  });

  it('reads a queue added while running band by band with the others (kombu _brpop_start), and leaves a cancelled one alone', async () => {
    const first = queue('rb-first');
    const added = queue('rb-added');
    await broker.publish(message(first.name, '', 'blocker'));
    const received: DeliveredMessage[] = [];
    const texts = () => received.map((delivered) => delivered.body.toString());
    const consumer = await broker.consume({ queues: [first], prefetch: 1, onMessage: collect(received) });
    const [blocker] = await eventually(() => (received.length === 1 ? received : undefined));

    // The prefetch window is full: both wait until the blocker is acked, then one BRPOP over both queues decides.
    await consumer.addQueue(added);
    await broker.publish(message(first.name, '', 'first-priority-9', 9));
    await broker.publish(message(added.name, '', 'added-priority-0', 0));
    blocker.ack();
    await eventually(() => (received.length === 2 ? true : undefined));
    expect(texts()).toEqual(['blocker', 'added-priority-0']);
    received[1].ack();
    await eventually(() => (received.length === 3 ? true : undefined));
    received[2].ack();
    expect(received.map((delivered) => delivered.deliveryInfo.queue)).toEqual([first.name, added.name, first.name]);

    await consumer.cancelQueue(added.name);
    await broker.publish(message(added.name, '', 'stays'));
    await broker.publish(message(first.name, '', 'marker'));
    await eventually(() => (received.length === 4 ? true : undefined));
    expect(texts()[3]).toBe('marker');
    received[3].ack();
    expect(await broker.queueDepth(added.name)).toBe(1);
    await consumer.cancel();
  });

  it('subscribes a fanout queue added while running, and unsubscribes it when cancelled', async () => {
    const markerExchange = { name: uniqueName('rb-marker-x'), type: 'fanout' as const };
    const addedExchange = { name: uniqueName('rb-added-x'), type: 'fanout' as const };
    const marker = queue('rb-marker', markerExchange, '');
    const added = queue('rb-fan-added', addedExchange, '');
    const received: DeliveredMessage[] = [];
    const texts = () => received.map((delivered) => delivered.body.toString());
    const consumer = await broker.consume({ queues: [marker], prefetch: 1, onMessage: collect(received) });

    await consumer.addQueue(added);
    await broker.publish(message('', addedExchange.name, 'to added'));
    await eventually(() => (received.length === 1 ? true : undefined));
    expect(received[0].deliveryInfo.queue).toBe(added.name);

    await consumer.cancelQueue(added.name);
    // Published in this order on one connection, received in this order on the subscriber's.
    await broker.publish({ ...message('', addedExchange.name, 'missed'), mandatory: false });
    await broker.publish(message('', markerExchange.name, 'marker'));
    await eventually(() => (received.length === 2 ? true : undefined));
    expect(texts()).toEqual(['to added', 'marker']);
    await consumer.cancel();
  });

  it("gives unsettled messages back to their queue at once on close (kombu's restore_at_shutdown), and restores a dead consumer's after the visibility timeout", async () => {
    const q = queue('rb-close');
    await broker.publish(message(q.name, '', 'held'));
    const other = new RedisBroker({ url: redisUrl(DB), logger: SILENT });
    await other.connect();
    const received: DeliveredMessage[] = [];
    await other.consume({ queues: [q], prefetch: 1, onMessage: collect(received) });
    await eventually(() => received[0]);
    expect(await broker.queueDepth(q.name)).toBe(0);
    await other.close();
    expect(await broker.queueDepth(q.name)).toBe(1);

    // A consumer that vanishes without closing leaves its message in the unacked hash only.
    const dying = new RedisBroker({ url: redisUrl(DB), logger: SILENT });
    await dying.connect();
    const held: DeliveredMessage[] = [];
    await dying.consume({ queues: [q], prefetch: 1, onMessage: collect(held) });
    await eventually(() => held[0]);
    (dying as unknown as { client: Redis }).client.disconnect(); // no restore: as if the process died
    (dying as unknown as { otherConnections: Set<Redis> }).otherConnections.forEach((connection) => connection.disconnect());
    await dying.close(); // stops its read loop; with its connections gone it cannot restore anything
    expect(await broker.queueDepth(q.name)).toBe(0);
    expect(await redis.hlen('unacked')).toBe(1);
    const survivor = new RedisBroker({ url: redisUrl(DB, '?visibility_timeout=1'), logger: SILENT });
    await survivor.connect();
    const restored: DeliveredMessage[] = [];
    await survivor.consume({ queues: [q], prefetch: 1, onMessage: collect(restored) });
    const [back] = await eventually(() => (restored.length === 1 ? restored : undefined), 15_000, 'the message to be restored');
    expect(back.body.toString()).toBe('held');
    expect(back.deliveryInfo.redelivered).toBe(true);
    back.ack();
    await eventually(async () => ((await redis.hlen('unacked')) === 0 ? true : undefined));
    await survivor.close();
  }, 30_000);
});

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { PublishError } from '../../errors/publish.error';
import { UnsupportedOnRedisError } from '../../errors/unsupported-on-redis.error';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { Broker, BrokerEvents, ConsumeOptions, Consumer, ExchangeDeclaration, ExchangeType, OutgoingMessage, QueueDeclaration } from '../broker.interface';
import { type BrokerLogger, consoleBrokerLogger } from '../broker-logger';
import { PublishTimeoutError } from '../../errors/publish-timeout.error';
import { withTimeout } from '../../utils/with-timeout';
import { routeThroughBindings, bindingFor } from './kombu-exchange-routing';
import { encodeKombuEnvelope, serializeKombuEnvelope } from '../kombu-envelope';
import { bindingSetKey, decodeBinding, DEFAULT_VISIBILITY_TIMEOUT_SECONDS, encodeBinding, fanoutChannel, priorityBand, priorityList, priorityLists } from './kombu-redis-keys';
import { type FanoutSubscription, RedisFanoutConsumer } from './redis-fanout-consumer';
import { RedisConsumer, type RedisConsumerHost } from './redis-consumer';
import { RedisListConsumer } from './redis-list-consumer';
import { closeConnection, connectWithin, createRedisClient, redisConnectionOptions } from './redis-connection';
import { parseRedisUrl, type RedisUrl } from './redis-url';
import { UnackedMessages } from './unacked-messages';

/**
 * Celery's events exchange. Celery declares it as a topic exchange on RabbitMQ but switches it to
 * fanout on Redis (`celery.events.event.get_exchange`), so events are broadcast on pub/sub rather
 * than copied into lists; we do the same whatever type it is declared with.
 */
const EVENT_EXCHANGE_NAME = 'celeryev';

export interface RedisBrokerOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (Celery `broker_url`). */
  url: string;
  /**
   * Seconds a delivered message may stay unacked before any consumer gives it back to its queue
   * (kombu's `visibility_timeout` transport option, Celery `broker_transport_options`). Default:
   * `?visibility_timeout=` of the URL, else 3600.
   */
  visibilityTimeoutSeconds?: number;
  /** How long connect() and publish() wait for Redis. Default 30000. */
  connectTimeoutMs?: number;
  publishTimeoutMs?: number;
  /** Shown by `CLIENT LIST` as the connection name (spaces become dashes: Redis refuses them). */
  connectionName?: string;
  logger?: BrokerLogger;
  events?: BrokerEvents;
}

/**
 * The Redis broker, wire-compatible with kombu's Redis transport as Celery 5.2.6 uses it: a queue
 * is a list per priority band (LPUSH to publish; a batch read, or BRPOP when nothing is ready, to
 * consume), bindings are the
 * `_kombu.binding.<exchange>` sets, acks are emulated with the `unacked` hash and a visibility
 * timeout, and fanout exchanges (remote control, events) are pub/sub channels. Through ioredis,
 * which reconnects on its own and re-subscribes. What Redis cannot guarantee compared with
 * RabbitMQ is in docs/REDIS.md.
 */
export class RedisBroker implements Broker {
  readonly description: string;
  /** Redis has no delay queues: tasks with an ETA are held in the worker, as Celery does on Redis. */
  readonly supportsDelayedDelivery = false;
  private readonly url: RedisUrl;
  private readonly client: Redis;
  private readonly unacked: UnackedMessages;
  private readonly visibilityTimeoutSeconds: number;
  private readonly connectTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly logger: BrokerLogger;
  /** Exchange types declared in this process (kombu keeps the same in `state.exchanges`). */
  private readonly exchangeTypes = new Map<string, ExchangeType>();
  /** Queues bound to fanout exchanges: consumed by subscription, not from lists. */
  private readonly fanoutQueues = new Map<string, FanoutSubscription>();
  private readonly listConsumers = new Set<RedisListConsumer>();
  /** Auto-delete queues we declared (reply and broadcast queues): their bindings and lists go on close. */
  private readonly autoDeleteQueues = new Map<string, QueueDeclaration>();
  private readonly otherConnections = new Set<Redis>();
  private closed = false;

  constructor(options: RedisBrokerOptions) {
    this.url = parseRedisUrl(options.url);
    this.description = this.url.description;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? this.url.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.logger = options.logger ?? consoleBrokerLogger;
    this.client = createRedisClient(redisConnectionOptions(this.url, options.connectionName), 'The Redis broker (broker: redis://…)', true);
    const events = options.events ?? {};
    this.client.on('ready', () => events.connected?.());
    this.client.on('close', () => {
      if (!this.closed) events.disconnected?.('connection to Redis closed');
    });
    this.client.on('error', (error: Error) => {
      if (!this.closed) this.logger.warn(`Redis broker ${this.description}: ${maskSecretsInText(error.message)}`);
    });
    this.unacked = new UnackedMessages(
      this.client,
      (exchange, routingKey) => this.lookup(exchange, routingKey),
      (tag, error) => this.logger.warn(`Could not give unacked message ${tag} back to its queue on ${this.description}: ${maskSecretsInText(error.message)}; it stays in "unacked"`),
    );
  }

  get isConnected(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  async connect(): Promise<void> {
    await connectWithin(this.client, this.connectTimeoutMs, (lastError) =>
      new BrokerConnectionError(
        this.description,
        lastError,
        `Could not connect to Redis at ${this.description} within ${this.connectTimeoutMs} ms (${lastError ? `last error: ${lastError}` : 'no answer yet'}). ` +
          'Expected a reachable Redis: check that it is running, the host, port, password and database number (and TLS for rediss://), ' +
          'or raise connectTimeoutMs. Reconnection attempts continue until close() is called.',
      ),
    );
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.exchangeTypes.set(exchange.name, this.effectiveType(exchange));
  }

  async bindExchange(destination: string, source: string, _routingKey: string): Promise<void> {
    throw new UnsupportedOnRedisError(`Binding exchange "${destination}" to exchange "${source}"`, 'Bind queues to the exchange instead.');
  }

  /**
   * Records the queue's binding in `_kombu.binding.<exchange>` as kombu's `queue_bind` does; a
   * queue without exchange needs nothing (lists exist once written to). Queue arguments
   * (x-max-priority, x-expires…) have no meaning here: every queue has kombu's four bands.
   */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    if (queue.autoDelete) this.autoDeleteQueues.set(queue.name, queue);
    if (!queue.exchange) return;
    const type = this.effectiveType(queue.exchange);
    this.exchangeTypes.set(queue.exchange.name, type);
    const routingKey = queue.routingKey ?? '';
    if (type === 'fanout') this.fanoutQueues.set(queue.name, { queue: queue.name, exchange: queue.exchange.name, routingKey });
    await this.client.sadd(bindingSetKey(queue.exchange.name), encodeBinding(bindingFor(type, routingKey, queue.name)));
  }

  /**
   * Writes the message where kombu would: LPUSH to the priority list of each queue the exchange
   * routes it to, or PUBLISH on the exchange's channel for fanout. Resolves when Redis answered,
   * Redis's only "confirm": whether the message survives a Redis crash depends on its persistence
   * settings (RDB snapshots, AOF fsync policy), not on us.
   */
  async publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) throw PublishError.brokerClosed(message.exchange, message.routingKey, this.description);
    const type = this.typeOf(message.exchange);
    const payload = serializeKombuEnvelope(encodeKombuEnvelope(message, randomUUID()));
    const write = async () => {
      if (type === 'fanout') {
        await this.client.publish(fanoutChannel(this.url.db, message.exchange, message.routingKey), payload);
        return;
      }
      const queues = await this.lookup(message.exchange, message.routingKey);
      if (queues.length === 0) {
        if (message.mandatory === false) return;
        throw PublishError.unroutable(message.exchange, message.routingKey, `no binding in ${bindingSetKey(message.exchange)} matches`);
      }
      const band = priorityBand(message.properties.priority);
      // One queue (nearly every task message) is one LPUSH, atomic by itself; ioredis's MULTI
      // builds a pipeline object and two more commands for it.
      if (queues.length === 1) {
        await this.client.lpush(priorityList(queues[0], band), payload);
        return;
      }
      const transaction = this.client.multi();
      for (const queue of queues) transaction.lpush(priorityList(queue, band), payload);
      await transaction.exec();
    };
    await withTimeout(write(), this.publishTimeoutMs, () =>
      new PublishTimeoutError(
        this.description,
        this.publishTimeoutMs,
        message.exchange,
        message.routingKey,
        this.client.status === 'ready' ? undefined : `the connection is ${this.client.status}`,
        'Redis',
      ),
    );
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const consumer = new RedisConsumer(this.consumerHost, options.prefetch, options.onMessage);
    await consumer.start(options.queues);
    return consumer;
  }

  /** How a RedisConsumer declares queues and opens its list and fanout consumers, each on a connection of its own. */
  private readonly consumerHost: RedisConsumerHost = {
    declareQueue: (queue) => this.declareQueue(queue),
    fanoutSubscription: (queue) => this.fanoutQueues.get(queue),
    openListConsumer: (queues, prefetch, onMessage) => {
      const reader = this.connection();
      const consumer = new RedisListConsumer(reader, this.client, this.unacked, { queues, prefetch, visibilityTimeoutSeconds: this.visibilityTimeoutSeconds, onMessage }, this.logger);
      this.listConsumers.add(consumer);
      return {
        consumer,
        close: async () => {
          await consumer.cancel();
          await this.disconnect(reader);
        },
      };
    },
    openFanoutConsumer: async (subscriptions, onMessage) => {
      const subscriber = this.connection();
      const consumer = new RedisFanoutConsumer(subscriber, this.url.db, subscriptions, onMessage, this.logger);
      await consumer.subscribed();
      return { consumer, close: () => consumer.cancel().then(() => void this.otherConnections.delete(subscriber)) };
    },
  };

  /** Messages waiting in the queue's four lists (kombu `_size`); 0 for a queue never written to. */
  async queueDepth(name: string): Promise<number | null> {
    const pipeline = this.client.pipeline();
    for (const list of priorityLists(name)) pipeline.llen(list);
    const replies = (await pipeline.exec()) ?? [];
    return replies.reduce((sum, [error, length]) => sum + (error ? 0 : Number(length)), 0);
  }

  /**
   * Stops the consumers and gives their unsettled messages back to the queues at once (kombu's
   * `restore_at_shutdown`), rather than after the visibility timeout; then disconnects.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const consumers = [...this.listConsumers];
    this.listConsumers.clear();
    for (const consumer of consumers) {
      await consumer.cancel().catch(() => undefined);
      for (const tag of consumer.unsettledTags) await this.unacked.restore(tag).catch(() => undefined);
    }
    await this.deleteAutoDeleteQueues().catch((error: Error) => this.logger.warn(`Could not delete auto-delete queues from Redis: ${error.message}`));
    this.closed = true;
    await Promise.all([...this.otherConnections].map((connection) => this.disconnect(connection)));
    await this.disconnect(this.client);
  }

  /**
   * What RabbitMQ does to an auto-delete queue when its consumer goes: its binding and lists are
   * removed (kombu's `_delete`), so reply and broadcast queues of closed apps do not pile up in
   * the binding sets. kombu itself does it only for fanout queues.
   */
  private async deleteAutoDeleteQueues(): Promise<void> {
    if (this.autoDeleteQueues.size === 0 || this.client.status !== 'ready') return;
    const transaction = this.client.multi();
    for (const queue of this.autoDeleteQueues.values()) {
      if (queue.exchange) transaction.srem(bindingSetKey(queue.exchange.name), encodeBinding(bindingFor(this.effectiveType(queue.exchange), queue.routingKey ?? '', queue.name)));
      transaction.del(...priorityLists(queue.name));
    }
    this.autoDeleteQueues.clear();
    await transaction.exec();
  }

  /** The queues a message to (exchange, routing key) reaches (kombu `_lookup`). */
  private async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (exchange === '') return [routingKey];
    const members = await this.client.smembers(bindingSetKey(exchange));
    return routeThroughBindings(this.typeOf(exchange), members.map(decodeBinding), routingKey);
  }

  private typeOf(exchange: string): ExchangeType {
    if (exchange === EVENT_EXCHANGE_NAME) return 'fanout';
    return this.exchangeTypes.get(exchange) ?? 'direct';
  }

  private effectiveType(exchange: ExchangeDeclaration): ExchangeType {
    return exchange.name === EVENT_EXCHANGE_NAME ? 'fanout' : exchange.type;
  }

  /** A connection of its own (BRPOP and SUBSCRIBE occupy one), with the same settings. */
  private connection(): Redis {
    const connection = this.client.duplicate();
    connection.on('error', (error: Error) => {
      if (!this.closed) this.logger.warn(`Redis broker ${this.description}: ${maskSecretsInText(error.message)}`);
    });
    this.otherConnections.add(connection);
    return connection;
  }

  private async disconnect(connection: Redis): Promise<void> {
    this.otherConnections.delete(connection);
    await closeConnection(connection);
  }

}

import type { MessageProperties } from '../protocol/message-properties';

/**
 * The seam between Celery logic and a message transport. Four implementations: AMQP (RabbitMQ,
 * through amqplib), Redis (kombu's Redis transport, through ioredis), Amazon SQS (kombu's SQS
 * transport, through the AWS SDK) and the in-process memory:// broker. Nothing above this file knows which one runs.
 */

/** AMQP basic properties are part of the message format: protocol/message-properties.ts. */
export type { MessageProperties } from '../protocol/message-properties';

/** A message to publish. */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  properties: MessageProperties;
  /**
   * Default true: a message no queue receives is returned by the broker and publish() rejects with
   * a PublishError. Set false for broadcasts that may legitimately reach nobody (Celery events on
   * `celeryev`, remote-control replies), which kombu publishes without `mandatory`.
   */
  mandatory?: boolean;
  /**
   * For SQS FIFO queues (kombu reads them from the message properties `MessageGroupId` and
   * `MessageDeduplicationId`); other brokers ignore them.
   */
  fifo?: { messageGroupId?: string; deduplicationId?: string };
}

/** Where and how a message reached us (Celery's `delivery_info`). */
export interface DeliveryInfo {
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  /** The queue it was consumed from. */
  queue: string;
}

/** A message handed to a consumer. It must be settled exactly once: ack or reject. */
export interface DeliveredMessage {
  body: Buffer;
  properties: MessageProperties;
  deliveryInfo: DeliveryInfo;
  /** Removes the message from the queue. A no-op when the channel it came on is gone (it will be redelivered). */
  ack(): void;
  /** requeue=false drops it (or dead-letters it when the queue has a dead-letter exchange). */
  reject(requeue: boolean): void;
}

export type ExchangeType = 'direct' | 'topic' | 'fanout' | 'headers';

export interface ExchangeDeclaration {
  name: string;
  type: ExchangeType;
  durable: boolean;
  autoDelete?: boolean;
}

/**
 * A queue with the exchange and binding key it is reached through; declared the way kombu
 * declares it so Python and Nest participants never disagree (PRECONDITION_FAILED).
 */
export interface QueueDeclaration {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  /** x-max-priority, x-expires, x-message-ttl, x-dead-letter-exchange, x-queue-type, … */
  arguments: Record<string, unknown>;
  /** Omitted: the queue is only reached through the default exchange. */
  exchange?: ExchangeDeclaration;
  routingKey?: string;
}

export interface ConsumeOptions {
  queues: QueueDeclaration[];
  /** Unacknowledged messages the consumer may hold at once (basic.qos). */
  prefetch: number;
  /** Called for each message; the consumer settles it with ack() or reject(). */
  onMessage(message: DeliveredMessage): void;
}

/** A running consumer. */
export interface Consumer {
  /** Stops new deliveries; messages already delivered can still be settled. */
  cancel(): Promise<void>;
  /**
   * Changes the prefetch window (basic.qos) while consuming, as Celery does to hold ETA tasks
   * without starving the others; kept across reconnects.
   */
  setPrefetch(count: number): Promise<void>;
  /**
   * Starts consuming one more queue while running (Celery's `add_consumer`: kombu's
   * `Consumer.add_queue()` then `consume()`): declares it, then consumes it under the same
   * prefetch window as the others; kept across reconnects. A queue already consumed is left as it
   * is. Rejects (consuming nothing new) when the broker refuses the declaration.
   */
  addQueue(queue: QueueDeclaration): Promise<void>;
  /**
   * Stops consuming one queue while the others go on (Celery's `cancel_consumer`: kombu's
   * `cancel_by_queue()`); messages already delivered from it can still be settled. A name not
   * consumed is ignored.
   */
  cancelQueue(name: string): Promise<void>;
}

/** Connection state changes, for logs, health checks and metrics. */
export interface BrokerEvents {
  connected?(): void;
  disconnected?(reason: string): void;
}

export interface Broker {
  /** A human-readable address with secrets masked, for logs. */
  readonly description: string;
  connect(): Promise<void>;
  declareQueue(queue: QueueDeclaration): Promise<void>;
  /**
   * Declares an exchange that has no queue of ours, such as Celery's events exchange `celeryev`,
   * which must exist before anything is published to it. Replayed after a reconnect like queues.
   */
  declareExchange(exchange: ExchangeDeclaration): Promise<void>;
  /**
   * Binds exchange `destination` to exchange `source` (RabbitMQ's exchange-to-exchange binding,
   * kombu `Exchange.bind_to`): what `source` routes with a key matching `routingKey` also goes
   * through `destination`. Both must exist. Replayed after a reconnect like the declarations.
   */
  bindExchange(destination: string, source: string, routingKey: string): Promise<void>;
  /**
   * Publishes with confirmation: resolves once the broker has taken responsibility for the message
   * (publisher confirm), rejects with a PublishError when it is nacked, unroutable (mandatory), or
   * not confirmed within the publish timeout (for instance while the broker is unreachable).
   */
  publish(message: OutgoingMessage): Promise<void>;
  /**
   * Publishes a batch with confirmation in one call, where the transport can do it cheaper than
   * one publish() per message (AMQP: one pass, one deadline). Resolves once every message is
   * settled, with each one's outcome at its index: undefined when confirmed, else the error its
   * own publish() would have rejected with. Never rejects. Without it, callers publish one by one.
   */
  publishMany?(messages: readonly OutgoingMessage[]): Promise<(Error | undefined)[]>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /**
   * True while a connection is up (always, for the in-process broker, until close()): what a
   * health check reports. Nothing waits on it; publish and consume reconnect on their own.
   */
  readonly isConnected: boolean;
  /**
   * False for brokers without delay queues (Redis): the worker then holds tasks with an ETA in
   * memory until due, as Celery does there, instead of parking them. Undefined means true.
   */
  readonly supportsDelayedDelivery?: boolean;
  /**
   * False for brokers without broadcast (SQS): no fanout exchange, so no remote control, no mingle
   * and no events, as in Celery (its control and events steps need `supports_fanout`). Undefined
   * means true.
   */
  readonly supportsBroadcast?: boolean;
  /**
   * Messages ready in the queue, not counting those delivered and unacknowledged, by a passive
   * declare (kombu's `queue_declare(passive=True)`); null when the queue does not exist. For
   * metrics: it never creates the queue.
   */
  queueDepth(name: string): Promise<number | null>;
  close(): Promise<void>;
}

/*
 * Why this is hand-written: no library emulates AMQP inside a Node process. The in-memory
 * message-queue packages on npm are job queues or pub/sub emitters without exchanges, bindings,
 * prefetch, requeue or dead-lettering, and the AMQP mock libraries are test doubles for amqplib
 * calls, not brokers. kombu's own `memory://` transport is likewise hand-written. This one
 * implements only the AMQP semantics the worker and client depend on, listed in MemoryVirtualHost.
 */
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { PublishError } from '../../errors/publish.error';
import type { Broker, ConsumeOptions, Consumer, ExchangeDeclaration, OutgoingMessage, QueueDeclaration } from '../broker.interface';
import { type BrokerLogger, consoleBrokerLogger } from '../broker-logger';
import { MemoryConsumer } from './memory-consumer';
import { MemoryVirtualHost } from './memory-virtual-host';

export interface MemoryBrokerOptions {
  /** The state to work on; default: a private one. createBroker('memory://') passes the shared one. */
  virtualHost?: MemoryVirtualHost;
  /** Where handler exceptions are reported. Default: the console. */
  logger?: BrokerLogger;
}

/**
 * The in-process broker of the embedded mode, like kombu's `memory://` transport: default,
 * direct, topic and fanout exchanges, bindings (also exchange to exchange), mandatory publishing
 * (unroutable → PublishError), per-consumer prefetch, round-robin between consumers of a queue,
 * ack, reject with requeue (back to the head, redelivered) or dead-lettering
 * (x-dead-letter-exchange), x-max-priority, per-message and per-queue TTL (expired at the head of
 * a queue, consumed or not, as RabbitMQ does), auto-delete queues, and RabbitMQ's re-declaration rules.
 * Durability and exclusivity have no effect in a single process; x-expires and x-max-length are
 * not implemented.
 */
export class MemoryBroker implements Broker {
  readonly description = 'memory://';
  private readonly virtualHost: MemoryVirtualHost;
  private readonly logger: BrokerLogger;
  private readonly consumers = new Set<MemoryConsumer>();
  private closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.virtualHost = options.virtualHost ?? new MemoryVirtualHost();
    this.logger = options.logger ?? consoleBrokerLogger;
  }

  async connect(): Promise<void> {
    this.assertOpen();
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    this.assertOpen();
    this.virtualHost.declareQueue(queue);
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.assertOpen();
    this.virtualHost.declareExchange(exchange);
  }

  async bindExchange(destination: string, source: string, routingKey: string): Promise<void> {
    this.assertOpen();
    this.virtualHost.bindExchange(destination, source, routingKey);
  }

  /** Routes the message at once; it is delivered to consumers in a later tick, never inside this call. */
  async publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) throw PublishError.brokerClosed(message.exchange, message.routingKey, this.description);
    this.virtualHost.publish(message);
  }

  get isConnected(): boolean {
    return !this.closed;
  }

  async queueDepth(name: string): Promise<number | null> {
    this.assertOpen();
    return this.virtualHost.queueSize(name);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const queues = options.queues.map((queue) => this.virtualHost.declareQueue(queue));
    const consumer = new MemoryConsumer(this.virtualHost, queues, options.prefetch, options.onMessage, this.logger, (gone) =>
      this.consumers.delete(gone),
    );
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  /** Stops every consumer of this broker; their unsettled messages go back to the queues, as when an AMQP connection closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
  }

  private assertOpen(): void {
    if (this.closed) throw BrokerConnectionError.closed(this.description);
  }
}

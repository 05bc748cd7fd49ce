import type { Channel, ChannelModel } from 'amqplib';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { maskUrl } from '../../utils/mask-secrets';
import type { Broker, ConsumeOptions, Consumer, ExchangeDeclaration, OutgoingMessage, QueueDeclaration } from '../broker.interface';
import { type AmqpBrokerOptions, type ResolvedAmqpBrokerOptions, resolveAmqpBrokerOptions } from './amqp-broker-options';
import { closeQuietly, isChannelError } from './amqp-channel-errors';
import { AmqpConsumer } from './amqp-consumer';
import { ConfirmPublisher } from './confirm-publisher';
import { DeclarationRegistry } from './declaration-registry';
import {
  bindExchangeOn,
  type DeclarationMethods,
  declareBatchOn,
  declareExchangeOn,
  declareQueueOn,
  exchangeBindingMethods,
  exchangeMethods,
  queueMethods,
} from './declare-topology';
import { ReconnectBackoff } from './reconnect-backoff';
import { ReconnectingConnection } from './reconnecting-connection';

/** AMQP reply code of a passive declare naming a queue that does not exist. */
const NOT_FOUND = 404;

/** At most this many channels for the declarations made in one turn… */
const MAX_CHANNELS_PER_BATCH = 4;
/** …and no more channels than one per this many of them. */
const MIN_DECLARATIONS_PER_CHANNEL = 8;

/** A declaration waiting for the batch it is sent in. */
interface PendingDeclaration {
  /** Its methods, to send with the rest of the batch. */
  methods: DeclarationMethods;
  /** The declaration on a channel of its own, whose refusal names it (declareQueueOn() …). */
  alone(channel: Channel): Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The RabbitMQ broker: one connection (re-established by amqp-connection-manager with
 * exponential backoff and jitter), one confirm channel for publishing, one channel per consumer.
 * Celery's equivalent is kombu's `pyamqp` transport with `confirm_publish=True`.
 *
 * Nothing needs connect() first: publish, declareQueue and consume start connecting on demand and
 * wait for the connection (publish up to publishTimeoutMs, the others up to connectTimeoutMs).
 * connect() is there to fail fast at start-up. Reconnection goes on until close().
 */
export class AmqpBroker implements Broker {
  private readonly options: ResolvedAmqpBrokerOptions;
  private readonly connection: ReconnectingConnection;
  private readonly declarations = new DeclarationRegistry();
  private readonly publisher: ConfirmPublisher;
  private readonly consumers = new Set<AmqpConsumer>();
  /** Declarations made in the current turn of the event loop, sent together once it ends. */
  private batch: PendingDeclaration[] | undefined;
  private closed = false;

  constructor(options: AmqpBrokerOptions) {
    this.options = resolveAmqpBrokerOptions(options);
    this.connection = new ReconnectingConnection(this.options, maskUrl(options.url));
    this.publisher = new ConfirmPublisher(this.connection, this.declarations, {
      publishTimeoutMs: this.options.publishTimeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      logger: this.options.logger,
      setupBackoff: this.newBackoff(),
    });
  }

  /** Resolves once connected; rejects with BrokerConnectionError after connectTimeoutMs (reconnecting goes on). */
  async connect(): Promise<void> {
    this.assertOpen();
    this.publisher.start();
    await this.connection.waitUntilConnected(this.options.connectTimeoutMs);
  }

  /** Declares the queue (with its exchange and binding) and re-declares it after every reconnect. */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await this.declareInBatch(queueMethods(queue), (channel) => declareQueueOn(channel, queue));
    this.declarations.rememberQueue(queue);
  }

  /** Declares an exchange on its own and re-declares it after every reconnect. */
  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    if (exchange.name === '') return; // The default exchange always exists and cannot be declared.
    await this.declareInBatch(exchangeMethods(exchange), (channel) => declareExchangeOn(channel, exchange));
    this.declarations.rememberExchange(exchange);
  }

  /** Binds one exchange to another and binds it again after every reconnect. */
  async bindExchange(destination: string, source: string, routingKey: string): Promise<void> {
    await this.declareInBatch(exchangeBindingMethods(destination, source, routingKey), (channel) =>
      bindExchangeOn(channel, destination, source, routingKey),
    );
    this.declarations.rememberExchangeBinding(destination, source, routingKey);
  }

  publish(message: OutgoingMessage): Promise<void> {
    return this.publisher.publish(message);
  }

  publishMany(messages: readonly OutgoingMessage[]): Promise<(Error | undefined)[]> {
    return this.publisher.publishMany(messages);
  }

  /** The node connected to (password masked); every configured node while disconnected. */
  get description(): string {
    return this.connection.description;
  }

  get isConnected(): boolean {
    return !this.closed && this.connection.current !== undefined;
  }

  /** A passive declare on its own channel: RabbitMQ closes the channel with 404 when the queue is missing. */
  async queueDepth(name: string): Promise<number | null> {
    let depth: number | null = null;
    try {
      await this.onFreshChannel(async (channel) => {
        depth = (await channel.checkQueue(name)).messageCount;
      });
    } catch (error) {
      if (isChannelError(error) && error.code === NOT_FOUND) return null;
      throw error;
    }
    return depth;
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    this.publisher.start();
    const consumer = new AmqpConsumer(
      this.connection,
      options,
      {
        connectTimeoutMs: this.options.connectTimeoutMs,
        serverCancelRetryDelayMs: this.options.reconnectDelayMs,
        logger: this.options.logger,
        setupBackoff: this.newBackoff(),
        declareQueue: (queue) => this.declareQueue(queue),
      },
      (closed) => this.consumers.delete(closed),
    );
    this.consumers.add(consumer);
    await consumer.start();
    return consumer;
  }

  /** Waits (up to closeTimeoutMs) for unconfirmed publishes, then closes consumers and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.publisher.close(this.options.closeTimeoutMs);
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    await this.connection.close(this.options.closeTimeoutMs);
  }

  /**
   * Declarations made together (a worker's delay levels: 28 queues with their exchanges, then 28
   * exchange bindings) go out on a few short-lived channels, each sent its share at once and then
   * awaited, instead of a channel each: opening and closing 60 channels cost a worker ≈ 30 ms CPU
   * at start-up. When RabbitMQ refuses one, it closes that channel without saying which
   * declaration it was in terms a user can act on, so that channel's share is declared again one
   * declaration per channel, in the order they were made (a binding after the exchanges it needs):
   * each caller then gets its own declaration's outcome, with the error naming what was refused,
   * as if it had been declared alone. Declaring again what went through is harmless: declarations
   * are idempotent.
   */
  private declareInBatch(methods: DeclarationMethods, alone: (channel: Channel) => Promise<void>): Promise<void> {
    this.assertOpen();
    return new Promise<void>((resolve, reject) => {
      if (!this.batch) {
        this.batch = [];
        // Calls made in the same turn (a Promise.all over declarations) join the batch.
        queueMicrotask(() => void this.sendBatch());
      }
      this.batch.push({ methods, alone, resolve, reject });
    });
  }

  private async sendBatch(): Promise<void> {
    const batch = this.batch ?? [];
    this.batch = undefined;
    // RabbitMQ declares what one channel sends one after the other: a large batch is spread over
    // a few channels, declared side by side (the delay levels' two batches of 29: 30–48 ms on 4
    // channels a batch, 43–97 on one, 42–75 on a channel each, on the loaded 2-core test machine).
    const channels = Math.min(MAX_CHANNELS_PER_BATCH, Math.ceil(batch.length / MIN_DECLARATIONS_PER_CHANNEL));
    const size = Math.ceil(batch.length / channels);
    const parts: PendingDeclaration[][] = [];
    for (let start = 0; start < batch.length; start += size) parts.push(batch.slice(start, start + size));
    await Promise.all(parts.map((part) => this.declareTogether(part)));
  }

  /** Declares `part` on one channel; never rejects: each declaration settles its own caller's promise. */
  private async declareTogether(part: readonly PendingDeclaration[]): Promise<void> {
    if (part.length > 1) {
      try {
        await this.onFreshChannel((channel) =>
          declareBatchOn(
            channel,
            part.map((pending) => pending.methods),
          ),
        );
        for (const pending of part) pending.resolve();
        return;
      } catch (error) {
        // No connection in time, closed, or gone: declaring one by one would only wait for it again, each.
        if (error instanceof BrokerConnectionError || this.connection.current === undefined) {
          for (const pending of part) pending.reject(error);
          return;
        }
      }
    }
    for (const pending of part) {
      try {
        await this.onFreshChannel(pending.alone);
        pending.resolve();
      } catch (error) {
        pending.reject(error);
      }
    }
  }

  /**
   * Runs a declaration on a short-lived channel, so a refusal (which makes RabbitMQ close the
   * channel) never touches the publishing or consuming channels. If the connection drops
   * meanwhile, it is tried again on the next one, until connectTimeoutMs.
   */
  private async onFreshChannel(work: (channel: Channel) => Promise<void>): Promise<void> {
    this.assertOpen();
    this.publisher.start();
    const deadline = Date.now() + this.options.connectTimeoutMs;
    for (;;) {
      const connection: ChannelModel = await this.connection.waitUntilConnected(Math.max(deadline - Date.now(), 1));
      let channel: Channel | undefined;
      try {
        channel = await connection.createChannel();
        channel.on('error', () => undefined); // Reported through the failing call instead.
        await work(channel);
        return;
      } catch (error) {
        const connectionLost = this.connection.current !== connection && !isChannelError(error);
        if (!connectionLost || Date.now() >= deadline) throw error;
      } finally {
        if (channel) await closeQuietly(channel);
      }
    }
  }

  private newBackoff(): ReconnectBackoff {
    return new ReconnectBackoff(this.options.reconnectDelayMs, this.options.maxReconnectDelayMs);
  }

  private assertOpen(): void {
    if (this.closed) throw BrokerConnectionError.closed(this.description);
  }
}

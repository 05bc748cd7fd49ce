import type { Channel, ConsumeMessage } from 'amqplib';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { ConsumeOptions, Consumer, QueueDeclaration } from '../broker.interface';
import type { BrokerLogger } from '../broker-logger';
import { closeQuietly } from './amqp-channel-errors';
import { AmqpDeliveredMessage, type DeliverySession } from './amqp-delivered-message';
import { declareQueueOn } from './declare-topology';
import { ManagedChannel } from './managed-channel';
import type { ReconnectBackoff } from './reconnect-backoff';
import type { ReconnectingConnection } from './reconnecting-connection';

/** One channel's consumers and how many of its deliveries are still unsettled. */
class ConsumingChannel implements DeliverySession {
  readonly consumerTags = new Set<string>();
  unsettled = 0;

  constructor(
    readonly channel: Channel,
    private readonly onAllSettled: (session: ConsumingChannel) => void,
  ) {}

  settled(): void {
    this.unsettled -= 1;
    if (this.unsettled === 0) this.onAllSettled(this);
  }
}

/** The consumer's share of AmqpBrokerOptions. */
export interface AmqpConsumerOptions {
  connectTimeoutMs: number;
  /** Pause before re-consuming a queue whose consumer RabbitMQ cancelled. */
  serverCancelRetryDelayMs: number;
  logger: BrokerLogger;
  setupBackoff: ReconnectBackoff;
}

/**
 * A consumer on its own channel, like a Celery worker's task consumer: it declares its queues,
 * sets a channel-wide prefetch (basic.qos global, as Celery does: the count covers all its
 * queues), and consumes each queue with manual acks. After a reconnect it does all of this again
 * by itself.
 */
export class AmqpConsumer implements Consumer {
  private readonly managed: ManagedChannel<Channel>;
  private session: ConsumingChannel | undefined;
  private cancelled = false;
  private warnedAboutServerCancel = false;
  private prefetch: number;

  constructor(
    private readonly connection: ReconnectingConnection,
    private readonly consume: ConsumeOptions,
    private readonly options: AmqpConsumerOptions,
    private readonly onClosed: (consumer: AmqpConsumer) => void,
  ) {
    this.prefetch = consume.prefetch;
    this.managed = new ManagedChannel<Channel>(
      connection,
      {
        open: (model) => model.createChannel(),
        setup: (channel) => this.setup(channel),
        setupFailed: (error) =>
          options.logger.error(
            `Could not resume consuming ${this.queueNames()} on ${connection.description}: ${maskSecretsInText(String(error))}; retrying`,
          ),
      },
      options.setupBackoff,
    );
  }

  /** Declares the queues and starts consuming; rejects (and releases everything) if that fails. */
  async start(): Promise<void> {
    try {
      await this.managed.start(this.options.connectTimeoutMs);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Cancels the consumers; the channel stays open until every delivered message is settled. */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    const channel = this.managed.detach();
    const session = this.session;
    if (!channel || !session || session.channel !== channel) {
      await this.release();
      return;
    }
    await Promise.all([...session.consumerTags].map((tag) => channel.cancel(tag).catch(() => undefined)));
    session.consumerTags.clear();
    if (session.unsettled === 0) await this.release();
  }

  /**
   * Quorum queues refuse a channel-wide (global) QoS, so with one of them the count applies per
   * consumer, as Celery 5.5 does (`worker_detect_quorum_queues`). RabbitMQ applies a per-consumer
   * count only to consumers started afterwards, so setPrefetch() then changes nothing until the
   * next reconnect.
   */
  private get globalQos(): boolean {
    return !this.consume.queues.some((queue) => queue.arguments['x-queue-type'] === 'quorum');
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    const session = this.session;
    if (!session || this.cancelled || !this.globalQos) return;
    try {
      await session.channel.prefetch(count, true);
    } catch {
      // Channel gone: the next setup applies the new count.
    }
  }

  /** Cancels and closes at once (broker shutdown): unsettled messages go back to their queues. */
  async close(): Promise<void> {
    this.cancelled = true;
    this.managed.detach();
    await this.release();
  }

  private async release(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.onClosed(this);
    if (session) await closeQuietly(session.channel);
  }

  private async setup(channel: Channel): Promise<void> {
    const session = new ConsumingChannel(channel, (settledSession) => {
      if (this.cancelled && settledSession === this.session && settledSession.consumerTags.size === 0) void this.release();
    });
    this.session = session;
    for (const queue of this.consume.queues) await declareQueueOn(channel, queue);
    await channel.prefetch(this.prefetch, this.globalQos);
    for (const queue of this.consume.queues) await this.consumeQueue(session, queue);
  }

  private async consumeQueue(session: ConsumingChannel, queue: QueueDeclaration): Promise<void> {
    // The tag is known only once basic.consume-ok arrives, after the callback is registered.
    const subscription = { consumerTag: '' };
    const { consumerTag } = await session.channel.consume(
      queue.name,
      (raw) => (raw === null ? this.onServerCancel(session, queue, subscription.consumerTag) : this.onDelivery(session, queue, raw)),
      { noAck: false },
    );
    subscription.consumerTag = consumerTag;
    session.consumerTags.add(consumerTag);
  }

  private onDelivery(session: ConsumingChannel, queue: QueueDeclaration, raw: ConsumeMessage): void {
    if (this.cancelled) {
      // Sent before RabbitMQ saw our basic.cancel: give it back for another consumer.
      try {
        session.channel.reject(raw, true);
      } catch {
        // Channel gone: it is requeued anyway.
      }
      return;
    }
    session.unsettled += 1;
    try {
      this.consume.onMessage(new AmqpDeliveredMessage(session, raw, queue.name));
    } catch (error) {
      this.options.logger.error(
        `The message handler threw for a message from queue "${queue.name}": ${maskSecretsInText(String(error))}. ` +
          `The message stays unacknowledged until the handler settles it or the channel closes.`,
      );
    }
  }

  /**
   * RabbitMQ cancelled a consumer (the queue was deleted, for instance). Like Celery, which
   * restarts its consumer then, declare the queue again and go on consuming.
   */
  private onServerCancel(session: ConsumingChannel, queue: QueueDeclaration, consumerTag: string): void {
    session.consumerTags.delete(consumerTag);
    if (this.cancelled) return;
    if (!this.warnedAboutServerCancel) {
      this.warnedAboutServerCancel = true;
      this.options.logger.warn(`RabbitMQ cancelled the consumer of queue "${queue.name}" (was it deleted?); declaring it again and resuming`);
    }
    setTimeout(() => {
      if (this.cancelled || this.session !== session) return;
      declareQueueOn(session.channel, queue)
        .then(() => this.consumeQueue(session, queue))
        .catch((error: unknown) => {
          // The channel is closed by now; ManagedChannel opens and sets up a new one.
          this.options.logger.error(`Could not resume consuming queue "${queue.name}": ${maskSecretsInText(String(error))}`);
        });
    }, this.options.serverCancelRetryDelayMs);
  }

  private queueNames(): string {
    return this.consume.queues.map((queue) => `"${queue.name}"`).join(', ');
  }
}

import type { Channel, ConsumeMessage } from 'amqplib';
import { QuorumQueueConsumerError } from '../../errors/quorum-queue-consumer.error';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { ConsumeOptions, Consumer, QueueDeclaration } from '../broker.interface';
import type { BrokerLogger } from '../broker-logger';
import { closeQuietly, isChannelError } from './amqp-channel-errors';
import { AmqpDeliveredMessage, type DeliverySession } from './amqp-delivered-message';
import { QueueDeclarationError } from '../../errors/queue-declaration.error';
import { declareQueueOn } from './declare-topology';
import { ManagedChannel } from './managed-channel';
import type { ReconnectBackoff } from './reconnect-backoff';
import type { ReconnectingConnection } from './reconnecting-connection';

/** One channel's consumers and how many of its deliveries are still unsettled. */
class ConsumingChannel implements DeliverySession {
  /** The consumer tag of each queue consumed on this channel; '' while basic.consume-ok is awaited. */
  readonly consumerTags = new Map<string, string>();
  unsettled = 0;

  constructor(
    readonly channel: Channel,
    /** Whether the prefetch count is shared by the channel (see usesGlobalQos). */
    readonly globalQos: boolean,
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
  /** Declares a queue on a short-lived channel (never the consuming one), remembered for reconnects (AmqpBroker.declareQueue). */
  declareQueue(queue: QueueDeclaration): Promise<void>;
}

/**
 * Quorum queues refuse a channel-wide (global) QoS, so with one of them the count applies per
 * consumer, as Celery 5.5 does (`worker_detect_quorum_queues`).
 */
function usesGlobalQos(queues: Iterable<QueueDeclaration>): boolean {
  return ![...queues].some(isQuorumQueue);
}

function isQuorumQueue(queue: QueueDeclaration): boolean {
  return queue.arguments['x-queue-type'] === 'quorum';
}

/**
 * A consumer on its own channel, like a Celery worker's task consumer: it declares its queues,
 * sets a channel-wide prefetch (basic.qos global, as Celery does: the count covers all its
 * queues), and consumes each queue with manual acks. Queues can be added and cancelled while it
 * runs (Celery's add_consumer / cancel_consumer). After a reconnect it does all of this again by
 * itself, for the queues it consumes by then.
 */
export class AmqpConsumer implements Consumer {
  private readonly managed: ManagedChannel<Channel>;
  private session: ConsumingChannel | undefined;
  /** The queues consumed now, by name: what every set-up consumes. */
  private readonly queues = new Map<string, QueueDeclaration>();
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
    for (const queue of consume.queues) this.queues.set(queue.name, queue);
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
    // A tag still '' is cancelled by consumeQueue() once basic.consume-ok names it.
    const tags = [...session.consumerTags.values()].filter((tag) => tag !== '');
    session.consumerTags.clear();
    await Promise.all(tags.map((tag) => channel.cancel(tag).catch(() => undefined)));
    if (session.unsettled === 0) await this.release();
  }

  /**
   * Declares the queue on a channel of its own first: a refusal there closes only that channel,
   * where on the consuming channel it would close it and fail every set-up after it. Then
   * consumes it on the consuming channel; while reconnecting, the next set-up does. A quorum
   * queue cannot join a channel-wide prefetch (QuorumQueueConsumerError).
   */
  async addQueue(queue: QueueDeclaration): Promise<void> {
    if (this.cancelled || this.queues.has(queue.name)) return;
    if (this.session?.globalQos && isQuorumQueue(queue)) throw new QuorumQueueConsumerError(queue.name);
    this.queues.set(queue.name, queue);
    try {
      await this.options.declareQueue(queue);
      const session = this.session;
      if (!session || this.cancelled || this.queues.get(queue.name) !== queue) return;
      // A per-consumer count applies to consumers started after it: set the current one first.
      if (!session.globalQos) await session.channel.prefetch(this.prefetch, false);
      await this.consumeQueue(session, queue);
    } catch (error) {
      const refused = error instanceof QueueDeclarationError || isChannelError(error);
      const session = this.session;
      // Not refused, but the channel or connection went away meanwhile: the next set-up consumes it.
      if (!refused && (!session || this.managed.current !== session.channel)) return;
      if (this.queues.get(queue.name) === queue) this.queues.delete(queue.name);
      throw error;
    }
  }

  /** basic.cancel of the queue's consumer; deliveries already made can still be settled. */
  async cancelQueue(name: string): Promise<void> {
    if (!this.queues.delete(name)) return;
    const session = this.session;
    const tag = session?.consumerTags.get(name);
    // Not consumed on the current channel (none now, or basic.consume-ok still awaited): the next
    // set-up leaves it out, or consumeQueue() cancels it once the tag is known.
    if (!session || !tag) return;
    session.consumerTags.delete(name);
    await session.channel.cancel(tag).catch(() => undefined); // Channel gone: nothing left to cancel.
  }

  /**
   * RabbitMQ applies a per-consumer count (quorum queues, see usesGlobalQos) only to consumers
   * started afterwards, so setPrefetch() then changes nothing until the next reconnect.
   */
  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    const session = this.session;
    if (!session || this.cancelled || !session.globalQos) return;
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
    const queues = [...this.queues.values()];
    const session = new ConsumingChannel(channel, usesGlobalQos(queues), (settledSession) => {
      if (this.cancelled && settledSession === this.session && settledSession.consumerTags.size === 0) void this.release();
    });
    this.session = session;
    for (const queue of queues) await declareQueueOn(channel, queue);
    await channel.prefetch(this.prefetch, session.globalQos);
    for (const queue of queues) if (this.queues.get(queue.name) === queue) await this.consumeQueue(session, queue);
  }

  private async consumeQueue(session: ConsumingChannel, queue: QueueDeclaration): Promise<void> {
    // A set-up and an addQueue() may meet on a new channel: one consumer per queue.
    if (session.consumerTags.has(queue.name)) return;
    session.consumerTags.set(queue.name, '');
    // The tag is known only once basic.consume-ok arrives, after the callback is registered.
    const subscription = { consumerTag: '' };
    let consumerTag: string;
    try {
      ({ consumerTag } = await session.channel.consume(
        queue.name,
        (raw) => (raw === null ? this.onServerCancel(session, queue, subscription.consumerTag) : this.onDelivery(session, queue, raw)),
        { noAck: false },
      ));
    } catch (error) {
      if (session.consumerTags.get(queue.name) === '') session.consumerTags.delete(queue.name);
      throw error;
    }
    subscription.consumerTag = consumerTag;
    if (this.cancelled || this.queues.get(queue.name) !== queue || session.consumerTags.get(queue.name) !== '') {
      // The consumer, or this queue, was cancelled while basic.consume was on its way.
      if (session.consumerTags.get(queue.name) === '') session.consumerTags.delete(queue.name);
      await session.channel.cancel(consumerTag).catch(() => undefined);
      if (this.cancelled && session === this.session && session.consumerTags.size === 0 && session.unsettled === 0) await this.release();
      return;
    }
    session.consumerTags.set(queue.name, consumerTag);
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
    if (session.consumerTags.get(queue.name) === consumerTag) session.consumerTags.delete(queue.name);
    if (this.cancelled || this.queues.get(queue.name) !== queue) return;
    if (!this.warnedAboutServerCancel) {
      this.warnedAboutServerCancel = true;
      this.options.logger.warn(`RabbitMQ cancelled the consumer of queue "${queue.name}" (was it deleted?); declaring it again and resuming`);
    }
    setTimeout(() => {
      if (this.cancelled || this.session !== session || this.queues.get(queue.name) !== queue) return;
      declareQueueOn(session.channel, queue)
        .then(() => this.consumeQueue(session, queue))
        .catch((error: unknown) => {
          // The channel is closed by now; ManagedChannel opens and sets up a new one.
          this.options.logger.error(`Could not resume consuming queue "${queue.name}": ${maskSecretsInText(String(error))}`);
        });
    }, this.options.serverCancelRetryDelayMs);
  }

  private queueNames(): string {
    return [...this.queues.keys()].map((name) => `"${name}"`).join(', ');
  }
}

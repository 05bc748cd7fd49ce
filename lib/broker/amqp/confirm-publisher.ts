import type { ConfirmChannel, Message } from 'amqplib';
import { PublishError } from '../../errors/publish.error';
import { PublishTimeoutError } from '../../errors/publish-timeout.error';
import { InFlightQueue, QueuedItem } from '../../utils/in-flight-queue';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { OutgoingMessage } from '../broker.interface';
import type { BrokerLogger } from '../broker-logger';
import type { DeclarationRegistry } from './declaration-registry';
import { ManagedChannel } from './managed-channel';
import { publishOnConfirmChannel } from './publish-on-channel';
import type { ReconnectBackoff } from './reconnect-backoff';
import type { ReconnectingConnection } from './reconnecting-connection';

/** Messages sent in one go before yielding to the event loop, when a backlog is flushed after a reconnect. */
const FLUSH_BATCH_SIZE = 1000;

/** Told once how a publish ended: undefined when confirmed, else why not. */
type SettleCallback = (error: Error | undefined) => void;

/** A message that has not been confirmed yet: waiting for a channel, or sent and unconfirmed. */
class PendingPublish implements QueuedItem {
  /** The channel it was sent on, while unconfirmed; undefined while waiting. */
  channel: ConfirmChannel | undefined = undefined;
  /** RabbitMQ's reason when it came back as unroutable (basic.return arrives before the ack). */
  returned: string | undefined = undefined;
  /** How many channels RabbitMQ closed while it was in flight on them. */
  channelErrors = 0;
  /** Neighbours in the deadline list (oldest first); both null once settled or never listed. */
  older: PendingPublish | null = null;
  newer: PendingPublish | null = null;
  /** Its place in `waiting` or `inFlight` (InFlightQueue); -1 in neither. */
  queuePosition = -1;

  constructor(
    readonly message: OutgoingMessage,
    /** When it times out (performance.now() milliseconds). */
    readonly deadline: number,
    readonly onSettled: SettleCallback,
  ) {}
}

/** The publisher's share of AmqpBrokerOptions. */
export interface ConfirmPublisherOptions {
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  logger: BrokerLogger;
  setupBackoff: ReconnectBackoff;
}

/**
 * Publishes on one confirm channel and settles each publish with the broker's answer: ack,
 * nack, basic.return (unroutable mandatory message), or nothing within the publish timeout.
 * Messages wait while there is no channel and go out when one is back; messages that were in
 * flight when the connection dropped are sent again (at-least-once, as kombu's publish retry).
 *
 * Per-message work is kept to the minimum: no logging, no encoding, no declarations.
 */
export class ConfirmPublisher {
  /**
   * Publishes waiting for a channel, in publish order, and those sent and unconfirmed, in the order
   * sent. InFlightQueues, not Sets: one add and delete per publish made V8 chain its obsolete hash
   * tables, and every publish's message and promise with them, into old space after a major GC
   * (lib/utils/in-flight-set.ts says how; docs/PERFORMANCE.md, "Memory", the figures).
   */
  private readonly waiting = new InFlightQueue<PendingPublish>();
  private readonly inFlight = new InFlightQueue<PendingPublish>();
  private readonly managed: ManagedChannel<ConfirmChannel>;
  private channel: ConfirmChannel | undefined;
  /** False after amqplib said its write buffer is full, until 'drain'. */
  private writable = false;
  private flushScheduled = false;
  private started = false;
  private closing = false;
  private onIdle: (() => void) | undefined;
  /** Unsettled publishes by deadline, oldest first (see track()). */
  private oldest: PendingPublish | null = null;
  private newest: PendingPublish | null = null;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: ReconnectingConnection,
    declarations: DeclarationRegistry,
    private readonly options: ConfirmPublisherOptions,
  ) {
    this.managed = new ManagedChannel<ConfirmChannel>(
      connection,
      {
        open: (model) => model.createConfirmChannel(),
        setup: async (channel, model) => {
          // Declarations first, so nothing is published to a queue that a restart removed.
          await declarations.replay(model, options.logger);
          channel.on('return', (returned: Message) => this.onReturn(channel, returned));
          channel.on('drain', () => this.onDrain(channel));
        },
        ready: (channel) => this.onReady(channel),
        lost: (channel, error) => this.onChannelLost(channel, error),
        setupFailed: (error) =>
          options.logger.error(`Could not set up the publishing channel on ${connection.description}: ${maskSecretsInText(String(error))}; retrying`),
      },
      options.setupBackoff,
    );
  }

  /** Opens the publishing channel (and the connection) unless already done. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // A first set-up that times out is not fatal here: publishes wait with their own timeout.
    this.managed.start(this.options.connectTimeoutMs).catch(() => undefined);
  }

  /** Resolves once the broker confirmed the message; see Broker.publish for the rejections. */
  publish(message: OutgoingMessage): Promise<void> {
    if (this.closing) return Promise.reject(PublishError.brokerClosed(message.exchange, message.routingKey, this.connection.description));
    this.start();
    return new Promise<void>((resolve, reject) => {
      this.enqueue(new PendingPublish(message, performance.now() + this.options.publishTimeoutMs, (error) => (error ? reject(error) : resolve())));
    });
  }

  /**
   * Publishes a batch in one pass (Broker.publishMany): one deadline for all of them, their frames
   * written together, and one promise that resolves, once every message is settled, with each
   * message's own outcome at its index (undefined: confirmed; else its PublishError).
   */
  publishMany(messages: readonly OutgoingMessage[]): Promise<(Error | undefined)[]> {
    const outcomes = new Array<Error | undefined>(messages.length).fill(undefined);
    if (messages.length === 0) return Promise.resolve(outcomes);
    if (this.closing) {
      return Promise.resolve(messages.map((message) => PublishError.brokerClosed(message.exchange, message.routingKey, this.connection.description)));
    }
    this.start();
    return new Promise((resolve) => {
      let unsettled = messages.length;
      const deadline = performance.now() + this.options.publishTimeoutMs;
      for (let index = 0; index < messages.length; index++) {
        this.enqueue(
          new PendingPublish(messages[index], deadline, (error) => {
            outcomes[index] = error;
            if (--unsettled === 0) resolve(outcomes);
          }),
        );
      }
    });
  }

  /** Sends at once when the channel can take it and nothing older waits; else queues it. */
  private enqueue(pending: PendingPublish): void {
    this.track(pending);
    const channel = this.channel;
    if (channel && this.writable && this.waiting.size === 0) this.send(pending, channel);
    else this.waiting.add(pending);
  }

  /**
   * Stops accepting publishes, waits up to `timeoutMs` for the pending ones to be confirmed,
   * rejects what is left, and closes the channel.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.waiting.size + this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const pending of [...this.waiting.values(), ...this.inFlight.values()]) {
      this.waiting.delete(pending);
      this.inFlight.delete(pending);
      pending.channel = undefined;
      this.settle(pending, PublishError.brokerClosed(pending.message.exchange, pending.message.routingKey, this.connection.description));
    }
    this.channel = undefined;
    await this.managed.close();
  }

  private send(pending: PendingPublish, channel: ConfirmChannel): void {
    const { message } = pending;
    pending.channel = channel;
    pending.returned = undefined;
    this.inFlight.add(pending);
    try {
      this.writable = publishOnConfirmChannel(channel, message, (error: unknown) => this.onConfirm(pending, channel, error));
    } catch (error) {
      // amqplib refused the message before sending anything (headers over 64 KiB, wrong property types).
      this.inFlight.delete(pending);
      pending.channel = undefined;
      this.settle(pending, PublishError.notSendable(message.exchange, message.routingKey, error));
    }
  }

  private onConfirm(pending: PendingPublish, channel: ConfirmChannel, error: unknown): void {
    // Already dealt with: timed out, or moved to another channel when this one was lost.
    if (pending.channel !== channel) return;
    this.inFlight.delete(pending);
    pending.channel = undefined;
    const { exchange, routingKey } = pending.message;
    if (error) this.settle(pending, PublishError.nacked(exchange, routingKey));
    else if (pending.returned !== undefined) this.settle(pending, PublishError.unroutable(exchange, routingKey, pending.returned));
    else this.settle(pending);
  }

  /**
   * basic.return carries no delivery tag, so the returned message is matched to the oldest
   * unconfirmed one on that channel with the same exchange, routing key and body. RabbitMQ
   * sends the return before the ack of the same message, so the ack then rejects it.
   */
  private onReturn(channel: ConfirmChannel, returned: Message): void {
    const fields = returned.fields as unknown as { exchange: string; routingKey: string; replyCode: number; replyText: string };
    const pending = this.inFlight.find(
      (sent) =>
        sent.channel === channel &&
        sent.returned === undefined &&
        sent.message.exchange === fields.exchange &&
        sent.message.routingKey === fields.routingKey &&
        sent.message.body.equals(returned.content),
    );
    if (pending) pending.returned = `${fields.replyCode} ${fields.replyText}`;
  }

  private onReady(channel: ConfirmChannel): void {
    this.channel = channel;
    this.writable = true;
    this.flush();
  }

  private onDrain(channel: ConfirmChannel): void {
    if (channel !== this.channel) return;
    this.writable = true;
    this.flush();
  }

  private onChannelLost(channel: ConfirmChannel, error: Error | undefined): void {
    if (this.channel === channel) {
      this.channel = undefined;
      this.writable = false;
    }
    // RabbitMQ names the missing exchange: "NOT_FOUND - no exchange 'x' in vhost '/'".
    const missingExchange = error ? /no exchange '([^']*)'/.exec(error.message)?.[1] : undefined;
    const resend: PendingPublish[] = [];
    for (const pending of this.inFlight.values()) {
      if (pending.channel !== channel) continue;
      this.inFlight.delete(pending);
      pending.channel = undefined;
      const { exchange, routingKey } = pending.message;
      if (missingExchange !== undefined && exchange === missingExchange) {
        this.settle(pending, PublishError.exchangeNotFound(exchange, routingKey));
      } else if (error && ++pending.channelErrors >= 2) {
        // The same message was in flight on two channels RabbitMQ closed: most likely its own fault.
        this.settle(pending, PublishError.channelError(exchange, routingKey, maskSecretsInText(error.message)));
      } else {
        resend.push(pending);
      }
    }
    if (resend.length === 0) return;
    // They were sent before anything still waiting, so they go first again.
    const newer = this.waiting.values();
    this.waiting.clear();
    for (const pending of resend) this.waiting.add(pending);
    for (const pending of newer) this.waiting.add(pending);
  }

  private flush(): void {
    let budget = FLUSH_BATCH_SIZE;
    for (let pending = this.waiting.first(); pending !== undefined; pending = this.waiting.first()) {
      const channel = this.channel;
      if (!channel || !this.writable) return;
      if (budget-- === 0) {
        this.scheduleFlush();
        return;
      }
      this.waiting.delete(pending);
      this.send(pending, channel);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Adds a publish to the deadline list. Every publish gets the same timeout, so deadlines come in
   * order and the list stays sorted by appending: one timer, armed for the oldest deadline, serves
   * them all, where a timer per message cost a Timeout object and timer-list work on every publish.
   * performance.now() is monotonic, so a wall-clock step cannot unsort the list.
   */
  private track(pending: PendingPublish): void {
    pending.older = this.newest;
    if (this.newest) this.newest.newer = pending;
    else this.oldest = pending;
    this.newest = pending;
    this.armDeadlineTimer();
  }

  private untrack(pending: PendingPublish): void {
    if (pending.older) pending.older.newer = pending.newer;
    else if (this.oldest === pending) this.oldest = pending.newer;
    else return; // Not in the list.
    if (pending.newer) pending.newer.older = pending.older;
    else this.newest = pending.older;
    pending.older = null;
    pending.newer = null;
    if (this.oldest === null && this.deadlineTimer !== undefined) {
      // Nothing left to time out: no timer keeps the process alive, as before.
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }

  private armDeadlineTimer(): void {
    if (this.deadlineTimer !== undefined || this.oldest === null) return;
    this.deadlineTimer = setTimeout(this.onDeadline, Math.max(this.oldest.deadline - performance.now(), 0));
  }

  /** Times out every publish whose deadline has passed, then waits for the next one. */
  private readonly onDeadline = (): void => {
    this.deadlineTimer = undefined;
    const now = performance.now();
    while (this.oldest !== null && this.oldest.deadline <= now) {
      const pending = this.oldest;
      this.waiting.delete(pending);
      this.inFlight.delete(pending);
      pending.channel = undefined;
      const { exchange, routingKey } = pending.message;
      this.settle(
        pending,
        new PublishTimeoutError(this.connection.description, this.options.publishTimeoutMs, exchange, routingKey, this.connection.problem),
      );
    }
    this.armDeadlineTimer();
  };

  private settle(pending: PendingPublish, error?: Error): void {
    this.untrack(pending);
    pending.onSettled(error);
    if (this.onIdle && this.waiting.size === 0 && this.inFlight.size === 0) {
      const onIdle = this.onIdle;
      this.onIdle = undefined;
      onIdle();
    }
  }
}

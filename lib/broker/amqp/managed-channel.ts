import type { Channel, ChannelModel } from 'amqplib';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { closeQuietly } from './amqp-channel-errors';
import type { ReconnectBackoff } from './reconnect-backoff';
import type { ReconnectingConnection } from './reconnecting-connection';

/** What a ManagedChannel does with each channel it opens. */
export interface ManagedChannelHandlers<C extends Channel> {
  /** Opens the raw channel (plain or confirm). */
  open(connection: ChannelModel): Promise<C>;
  /** Runs on each new channel before it is used (declarations, qos, consumers). A rejection discards the channel. */
  setup(channel: C, connection: ChannelModel): Promise<void>;
  /** The channel is set up and in use. */
  ready?(channel: C): void;
  /**
   * A channel that was in use is gone. `error` is RabbitMQ's channel error when the broker closed
   * only this channel; undefined when the connection dropped. Runs before amqplib fails the
   * channel's unconfirmed publishes, so they can be moved to the next channel first.
   */
  lost?(channel: C, error: Error | undefined): void;
  /** A set-up failed after the first one (the first failure goes to start()'s caller); it will be retried. */
  setupFailed?(error: unknown): void;
}

/**
 * An amqplib channel that is opened again, and set up again, after every reconnect, and also
 * after RabbitMQ closes just this channel for a channel error (404 on a missing exchange, 406 …)
 * while the connection stays up.
 *
 * Why not amqp-connection-manager's ChannelWrapper: it waits for the next *connection* to replace
 * a channel the broker closed, so one publish to a missing exchange would stall every publish
 * until the connection drops; it also has no basic.return support. The connection itself, with its
 * reconnect loop, is still amqp-connection-manager's (see ReconnectingConnection).
 */
export class ManagedChannel<C extends Channel> {
  private channel: C | undefined;
  private closed = false;
  private started = false;
  private attempt = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private firstSetup: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(
    private readonly connection: ReconnectingConnection,
    private readonly handlers: ManagedChannelHandlers<C>,
    private readonly setupBackoff: ReconnectBackoff,
  ) {}

  /** The channel in use, or undefined between channels. */
  get current(): C | undefined {
    return this.channel;
  }

  /**
   * Opens the channel now (or as soon as connected) and after every reconnect. Resolves after the
   * first successful set-up; rejects with the set-up's error if it fails while the connection is
   * up, or with BrokerConnectionError if no connection comes within `timeoutMs`.
   */
  start(timeoutMs: number): Promise<void> {
    if (this.started) throw new Error('ManagedChannel.start() called twice');
    this.started = true;
    const firstSetup = new Promise<void>((resolve, reject) => {
      this.firstSetup = { resolve, reject };
    });
    const timer = setTimeout(
      () => this.settleFirstSetup(BrokerConnectionError.timedOut(this.connection.description, timeoutMs, this.connection.problem)),
      timeoutMs,
    );
    const stopTimer = (): void => clearTimeout(timer);
    firstSetup.then(stopTimer, stopTimer);
    this.unsubscribe = this.connection.onConnected((connection) => void this.openOn(connection));
    const current = this.connection.current;
    if (current) void this.openOn(current);
    else this.connection.start();
    return firstSetup;
  }

  /** Stops reopening and hands the current channel over to the caller, who now closes it. */
  detach(): C | undefined {
    this.stop();
    const channel = this.channel;
    this.channel = undefined;
    return channel;
  }

  /** Stops reopening and closes the current channel. */
  async close(): Promise<void> {
    const channel = this.detach();
    if (channel) await closeQuietly(channel);
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    this.unsubscribe?.();
    this.settleFirstSetup(BrokerConnectionError.closed(this.connection.description));
  }

  private async openOn(connection: ChannelModel): Promise<void> {
    if (this.closed) return;
    const attempt = ++this.attempt;
    let channel: C;
    try {
      channel = await this.handlers.open(connection);
    } catch (error) {
      this.afterSetupFailure(connection, error);
      return;
    }
    let channelError: Error | undefined;
    let channelClosed = false;
    // Without an 'error' listener amqplib's channel error would be an uncaught exception.
    channel.on('error', (error: Error) => {
      channelError = error;
    });
    // Prepended so it runs before amqplib fails the pending confirms of this channel.
    channel.prependListener('close', () => {
      channelClosed = true;
      this.onClose(channel, connection, channelError);
    });
    try {
      await this.handlers.setup(channel, connection);
    } catch (error) {
      await closeQuietly(channel);
      this.afterSetupFailure(connection, error);
      return;
    }
    if (this.closed || attempt !== this.attempt) {
      await closeQuietly(channel);
      return;
    }
    if (channelClosed) {
      // Closed between the end of set-up and now: treat it as a failed set-up.
      this.afterSetupFailure(connection, channelError ?? new Error('channel closed during set-up'));
      return;
    }
    this.channel = channel;
    this.setupBackoff.reset();
    this.handlers.ready?.(channel);
    this.settleFirstSetup();
  }

  private onClose(channel: C, connection: ChannelModel, error: Error | undefined): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.handlers.lost?.(channel, error);
    // Without an error the connection is going away: its successor will bring a new channel.
    if (this.closed || !error) return;
    this.scheduleReopen(connection, 0);
  }

  private afterSetupFailure(connection: ChannelModel, error: unknown): void {
    if (this.closed) return;
    // The connection died during set-up: the next one opens a new channel by itself.
    if (this.connection.current !== connection) return;
    if (this.firstSetup) this.settleFirstSetup(error);
    else this.handlers.setupFailed?.(error);
    // Retried with backoff; a caller that gives up after a failed start() closes us, which cancels it.
    this.scheduleReopen(connection, this.setupBackoff.next());
  }

  private scheduleReopen(connection: ChannelModel, delayMs: number): void {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => {
      if (!this.closed && this.connection.current === connection) void this.openOn(connection);
    }, delayMs);
  }

  private settleFirstSetup(error?: unknown): void {
    const firstSetup = this.firstSetup;
    if (!firstSetup) return;
    this.firstSetup = undefined;
    if (error === undefined) firstSetup.resolve();
    else firstSetup.reject(error);
  }
}

import { coalesceSocketWrites } from './coalesce-socket-writes';
import { connect as createConnectionManager, type AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel } from 'amqplib';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { ResolvedAmqpBrokerOptions } from './amqp-broker-options';
import { amqplibConnectOptions } from './amqp-url';
import { ReconnectBackoff } from './reconnect-backoff';

type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

interface ConnectionWaiter {
  resolve(connection: ChannelModel): void;
  reject(error: Error): void;
}

/** Handshake refusals that retrying cannot fix: wrong login (403) or unknown vhost (530). */
const REFUSAL_PATTERN = /ACCESS[-_]REFUSED|NOT[-_]ALLOWED/;

/**
 * The one AMQP connection of a broker, re-established by amqp-connection-manager whenever it drops.
 *
 * amqp-connection-manager only knows a fixed retry delay (`reconnectTimeInSeconds`), but it reads
 * that public property right after emitting `disconnect` / `connectFailed`; setting it from those
 * listeners gives exponential backoff with jitter (see ReconnectBackoff). Each state change is
 * logged once, never each retry, and never with the password.
 */
export class ReconnectingConnection {
  private readonly manager: AmqpConnectionManager;
  private readonly backoff: ReconnectBackoff;
  private readonly connectedListeners = new Set<(connection: ChannelModel) => void>();
  private readonly waiters = new Set<ConnectionWaiter>();
  private state: ConnectionState = 'idle';
  private lastError: string | undefined;
  private warnedAboutFirstConnect = false;

  constructor(
    private readonly options: ResolvedAmqpBrokerOptions,
    /** The masked URL, for messages. */
    readonly description: string,
  ) {
    this.backoff = new ReconnectBackoff(options.reconnectDelayMs, options.maxReconnectDelayMs);
    const { socketOptions, connectionName, address } = options;
    // The object form: amqplib's own URL parsing does not read URLs as kombu does (amqp-url.ts).
    this.manager = createConnectionManager(amqplibConnectOptions(address), {
      heartbeatIntervalInSeconds: options.heartbeatSeconds,
      reconnectTimeInSeconds: options.reconnectDelayMs / 1000,
      connectionOptions: {
        timeout: options.connectTimeoutMs,
        // localhost is connected to as 127.0.0.1; its certificate is still checked against the name written.
        ...(address.tlsServerName === undefined ? {} : { servername: address.tlsServerName }),
        ...socketOptions,
        // Nagle's algorithm would hold small frames (acks, replies) back for tens of ms.
        noDelay: true,
        clientProperties: connectionName === undefined ? {} : { connection_name: connectionName },
      },
    });
    // The listener's argument is typed as amqplib's bare Connection but is the ChannelModel, as `manager.connection` says.
    this.manager.on('connect', ({ connection }) => this.onConnect(connection as unknown as ChannelModel));
    this.manager.on('disconnect', ({ err }) => this.onDisconnect(err));
    this.manager.on('connectFailed', ({ err }) => this.onConnectFailed(err));
    this.manager.on('blocked', ({ reason }) => options.logger.warn(`RabbitMQ at ${description} blocked publishing: ${reason} (resource alarm)`));
    this.manager.on('unblocked', () => options.logger.log(`RabbitMQ at ${description} unblocked publishing`));
  }

  /** The live amqplib connection, or undefined while disconnected. */
  get current(): ChannelModel | undefined {
    return this.manager.connection;
  }

  /** True once close() was called: no more reconnecting. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Why we are not connected (masked), or undefined when connected. */
  get problem(): string | undefined {
    if (this.current) return undefined;
    if (this.state === 'closed') return 'the broker was closed';
    return this.lastError ?? 'no connection established yet';
  }

  /** Starts connecting (and reconnecting forever) unless already started. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    // Its own timeout handling is not needed: waitUntilConnected() bounds every wait.
    this.manager.connect().catch(() => undefined);
  }

  /** Calls `listener` with every new connection (after reconnects too); returns the unsubscribe function. */
  onConnected(listener: (connection: ChannelModel) => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  /** The live connection; waits for it up to `timeoutMs`, then rejects with BrokerConnectionError. */
  waitUntilConnected(timeoutMs: number): Promise<ChannelModel> {
    const connection = this.current;
    if (connection) return Promise.resolve(connection);
    if (this.state === 'closed') return Promise.reject(BrokerConnectionError.closed(this.description));
    this.start();
    return new Promise<ChannelModel>((resolve, reject) => {
      const waiter: ConnectionWaiter = {
        resolve: (value) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.reject(BrokerConnectionError.timedOut(this.description, timeoutMs, this.lastError)),
        timeoutMs,
      );
      this.waiters.add(waiter);
    });
  }

  /** Stops reconnecting and closes the connection, waiting at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // A retry that is already scheduled reads this delay: make it end at once instead of holding close() up.
    this.manager.reconnectTimeInSeconds = 0;
    for (const waiter of [...this.waiters]) waiter.reject(BrokerConnectionError.closed(this.description));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([this.manager.close().catch(() => undefined), bound]);
    } finally {
      clearTimeout(timer);
      this.connectedListeners.clear();
    }
  }

  private onConnect(connection: ChannelModel): void {
    if (this.state === 'closed') return;
    const wasReconnecting = this.state === 'reconnecting';
    this.state = 'connected';
    this.lastError = undefined;
    this.warnedAboutFirstConnect = false;
    this.backoff.reset();
    coalesceSocketWrites(connection); // one writev per multiplexer pass instead of one write per frame
    this.options.logger.log(`${wasReconnecting ? 'Reconnected' : 'Connected'} to RabbitMQ at ${this.description}`);
    for (const waiter of [...this.waiters]) waiter.resolve(connection);
    for (const listener of [...this.connectedListeners]) listener(connection);
    this.options.events.connected?.();
  }

  private onDisconnect(error: Error | undefined): void {
    if (this.state === 'closed') return;
    const reason = this.describeError(error, 'connection closed');
    this.lastError = reason;
    this.state = 'reconnecting';
    const delay = this.scheduleNextAttempt();
    this.options.logger.warn(`Lost connection to RabbitMQ at ${this.description}: ${reason}`);
    this.options.logger.log(`Reconnecting to RabbitMQ at ${this.description} in ${delay} ms (backing off up to ${this.options.maxReconnectDelayMs} ms)`);
    this.options.events.disconnected?.(reason);
  }

  private onConnectFailed(error: Error | undefined): void {
    if (this.state === 'closed') {
      this.manager.reconnectTimeInSeconds = 0;
      return;
    }
    const reason = this.describeError(error, 'connection failed');
    this.lastError = reason;
    const delay = this.scheduleNextAttempt();
    if (REFUSAL_PATTERN.test(reason)) {
      for (const waiter of [...this.waiters]) waiter.reject(BrokerConnectionError.refused(this.description, reason));
    }
    if (this.state === 'connecting' && !this.warnedAboutFirstConnect) {
      this.warnedAboutFirstConnect = true;
      this.options.logger.warn(`Cannot connect to RabbitMQ at ${this.description}: ${reason}; retrying in ${delay} ms, backing off up to ${this.options.maxReconnectDelayMs} ms`);
    }
  }

  /** Sets the delay amqp-connection-manager waits before its next attempt; returns it. */
  private scheduleNextAttempt(): number {
    const delay = this.backoff.next();
    this.manager.reconnectTimeInSeconds = delay / 1000;
    return delay;
  }

  private describeError(error: Error | undefined, fallback: string): string {
    return maskSecretsInText(error?.message || fallback);
  }
}

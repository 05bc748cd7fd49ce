import { coalesceSocketWrites } from './coalesce-socket-writes';
import { connect as createConnectionManager, type AmqpConnectionManager, type AmqpConnectionManagerOptions, type ConnectionUrl } from 'amqp-connection-manager';
import type { ChannelModel, Options } from 'amqplib';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { ResolvedAmqpBrokerOptions } from './amqp-broker-options';
import { amqplibConnectOptions, type AmqpNode } from './amqp-url';
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
 * With several nodes (a `;` failover list, as kombu reads `broker_url`), a lost connection moves
 * to the next node at once, in the list's order or shuffled each round (`failoverStrategy`, as
 * kombu's `failover_strategy`); the backoff applies only once every node failed in a row. Where
 * the connection is now is `description`: logs, health and metrics name that node.
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
  /** Each node's entry in amqp-connection-manager's list, to tell which one a connection is to. */
  private readonly nodeOf = new Map<unknown, AmqpNode>();
  private node: AmqpNode | undefined;
  /** Connection attempts since the last success: the backoff waits only after a whole round of nodes failed. */
  private attemptsSinceConnected = 0;

  constructor(
    private readonly options: ResolvedAmqpBrokerOptions,
    /** Every node, passwords masked, for messages: the list as configured. */
    private readonly configured: string,
  ) {
    this.backoff = new ReconnectBackoff(options.reconnectDelayMs, options.maxReconnectDelayMs);
    const urls = options.nodes.map((node) => {
      const entry = this.connectionUrl(node);
      // The connect event names the node by its `url` object.
      this.nodeOf.set(entry.url, node);
      return entry as unknown as ConnectionUrl;
    });
    const managerOptions: AmqpConnectionManagerOptions = {
      heartbeatIntervalInSeconds: options.heartbeatSeconds,
      reconnectTimeInSeconds: options.reconnectDelayMs / 1000,
    };
    // amqp-connection-manager tries its list in turn and asks findServers again after each round:
    // kombu's shuffle strategy is a new random order per round.
    if (options.failoverStrategy === 'shuffle' && urls.length > 1) managerOptions.findServers = () => shuffled(urls);
    this.manager = createConnectionManager(urls, managerOptions);
    // The listener's argument is typed as amqplib's bare Connection but is the ChannelModel, as `manager.connection` says.
    this.manager.on('connect', ({ connection, url }) => this.onConnect(connection as unknown as ChannelModel, this.nodeOf.get(url)));
    this.manager.on('disconnect', ({ err }) => this.onDisconnect(err));
    this.manager.on('connectFailed', ({ err }) => this.onConnectFailed(err));
    this.manager.on('blocked', ({ reason }) => options.logger.warn(`RabbitMQ at ${this.description} blocked publishing: ${reason} (resource alarm)`));
    this.manager.on('unblocked', () => options.logger.log(`RabbitMQ at ${this.description} unblocked publishing`));
  }

  /** The node connected to now (masked), or every configured node while disconnected. */
  get description(): string {
    return this.current && this.node ? this.node.description : this.configured;
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

  private onConnect(connection: ChannelModel, node: AmqpNode | undefined): void {
    if (this.state === 'closed') return;
    const wasReconnecting = this.state === 'reconnecting';
    this.state = 'connected';
    this.node = node;
    this.lastError = undefined;
    this.warnedAboutFirstConnect = false;
    this.attemptsSinceConnected = 0;
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
    const lost = this.node?.description ?? this.configured;
    this.lastError = reason;
    this.state = 'reconnecting';
    const delay = this.scheduleNextAttempt();
    this.options.logger.warn(`Lost connection to RabbitMQ at ${lost}: ${reason}`);
    const where = this.options.nodes.length > 1 ? `the next of ${this.options.nodes.length} nodes (${this.options.failoverStrategy})` : this.configured;
    this.options.logger.log(`Reconnecting to RabbitMQ at ${where} in ${delay} ms (backing off up to ${this.options.maxReconnectDelayMs} ms)`);
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

  /**
   * Sets the delay amqp-connection-manager waits before its next attempt; returns it. The next
   * node of a failover list is tried at once, as kombu does; after a whole round failed, back off.
   */
  private scheduleNextAttempt(): number {
    this.attemptsSinceConnected++;
    const nodes = this.options.nodes.length;
    const delay = nodes > 1 && this.attemptsSinceConnected % nodes !== 0 ? 0 : this.backoff.next();
    this.manager.reconnectTimeInSeconds = delay / 1000;
    return delay;
  }

  /**
   * A node in amqp-connection-manager's `{ url, connectionOptions }` form, with the URL in
   * amqplib's object form (amqplib's URL parsing does not read URLs as kombu does, amqp-url.ts):
   * its types say string, its code passes either to amqplib. Each node has its own TLS name.
   */
  private connectionUrl(node: AmqpNode): { url: Options.Connect; connectionOptions: unknown } {
    const { socketOptions, connectionName, heartbeatSeconds, connectTimeoutMs } = this.options;
    const { address } = node;
    return {
      url: { ...amqplibConnectOptions(address), heartbeat: address.tuning.heartbeat ?? heartbeatSeconds },
      connectionOptions: {
        timeout: connectTimeoutMs,
        // localhost is connected to as 127.0.0.1; its certificate is still checked against the name written.
        ...(address.tlsServerName === undefined ? {} : { servername: address.tlsServerName }),
        ...socketOptions,
        // Nagle's algorithm would hold small frames (acks, replies) back for tens of ms.
        noDelay: true,
        clientProperties: connectionName === undefined ? {} : { connection_name: connectionName },
      },
    };
  }

  private describeError(error: Error | undefined, fallback: string): string {
    return maskSecretsInText(error?.message || fallback);
  }
}

/** A copy of `items` in random order (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { BrokerEvents } from '../broker.interface';
import { type BrokerLogger, consoleBrokerLogger } from '../broker-logger';
import type { FailoverStrategy } from '../broker-options';
import { type AmqpAddress, type AmqpNode, parseAmqpUrls } from './amqp-url';

/** Socket options handed to amqplib as they are: TLS material (ca, cert, key, passphrase, servername, …), keep-alive, SASL credentials. */
export type AmqpSocketOptions = TlsConnectionOptions & {
  keepAlive?: boolean;
  keepAliveDelay?: number;
  /** Socket timeout while connecting, in ms (defaults to connectTimeoutMs). */
  timeout?: number;
  /** SASL mechanism, for example amqplib's `credentials.external()` for client-certificate login. */
  credentials?: { mechanism: string; response(): Buffer; username?: string; password?: string };
};

/**
 * Settings of the RabbitMQ broker. Celery equivalents: `broker_url`, `broker_heartbeat`,
 * `broker_connection_timeout`, `broker_use_ssl`, `broker_connection_retry` (always on here).
 */
export interface AmqpBrokerOptions {
  /**
   * amqp://user:password@host:5672/vhost or amqps://…; pyamqp:// is accepted as Celery's alias.
   * Read as kombu reads it (parseAmqpUrl): `amqp://guest@localhost` is guest/guest on vhost "/".
   */
  url: string;
  /** After losing a node of a `;` list: 'round-robin' (default) or 'shuffle' (Celery `broker_failover_strategy`). */
  failoverStrategy?: FailoverStrategy;
  /** AMQP heartbeat negotiated with the broker (Celery `broker_heartbeat`). 0 disables. Default 60. */
  heartbeatSeconds?: number;
  /** First delay before reconnecting; doubles per failed attempt, with jitter, up to maxReconnectDelayMs. Default 1000. */
  reconnectDelayMs?: number;
  /** Upper bound of the reconnect delay. Default 30000. */
  maxReconnectDelayMs?: number;
  /** How long publish() waits for the broker's confirm, including time spent disconnected. Default 30000. */
  publishTimeoutMs?: number;
  /** How long connect() (and declarations or consume() while disconnected) wait for a connection (Celery `broker_connection_timeout`). Default 30000. */
  connectTimeoutMs?: number;
  /** How long close() waits for unconfirmed publishes before closing anyway. Default 10000. */
  closeTimeoutMs?: number;
  /** Shown as the connection name in RabbitMQ's management UI and `rabbitmqctl list_connections client_properties`. */
  connectionName?: string;
  /** Passed to amqplib's socket (TLS: ca/cert/key). Nagle's algorithm is always off (noDelay). */
  socketOptions?: AmqpSocketOptions;
  /** Where connection changes are logged. Default: the console. */
  logger?: BrokerLogger;
  /** Called on every connect and disconnect, for health checks and metrics. */
  events?: BrokerEvents;
}

/** AmqpBrokerOptions with every default applied: the one place the defaults live. */
export interface ResolvedAmqpBrokerOptions {
  url: string;
  /** The (first) URL read as kombu reads it, defaults filled in. */
  address: AmqpAddress;
  /** Every node of a failover list (one for a plain URL), in the order given. */
  nodes: AmqpNode[];
  failoverStrategy: FailoverStrategy;
  heartbeatSeconds: number;
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  connectionName: string | undefined;
  socketOptions: AmqpSocketOptions;
  logger: BrokerLogger;
  events: BrokerEvents;
}

/** Applies the defaults documented on AmqpBrokerOptions; throws UnsupportedBrokerUrlError or InvalidBrokerUrlError for a URL that is not AMQP. */
export function resolveAmqpBrokerOptions(options: AmqpBrokerOptions): ResolvedAmqpBrokerOptions {
  const nodes = parseAmqpUrls(options.url);
  return {
    url: options.url,
    address: nodes[0].address,
    nodes,
    failoverStrategy: options.failoverStrategy ?? 'round-robin',
    heartbeatSeconds: options.heartbeatSeconds ?? 60,
    reconnectDelayMs: options.reconnectDelayMs ?? 1000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 30_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 30_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
    connectionName: options.connectionName,
    socketOptions: options.socketOptions ?? {},
    logger: options.logger ?? consoleBrokerLogger,
    events: options.events ?? {},
  };
}

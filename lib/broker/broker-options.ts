import { optionKeys } from '../utils/option-keys';
import type { SqsTransportOptions } from './sqs/sqs-transport-options';

/** kombu's `failover_strategy` names. */
export type FailoverStrategy = 'round-robin' | 'shuffle';
export const FAILOVER_STRATEGIES: readonly FailoverStrategy[] = ['round-robin', 'shuffle'];

/** A list of broker URLs as Celery writes it in one setting: joined by `;`. */
export function joinBrokerUrls(url: string | readonly string[]): string {
  return typeof url === 'string' ? url : url.join(';');
}

/** Broker connection settings (Celery's `broker_url` and `broker_*` settings). */
export interface BrokerOptions {
  /**
   * `amqp://user:password@host:5672/vhost`, `amqps://…`, `redis://:password@host:6379/0`, `rediss://…`,
   * `sqs://` (Amazon SQS, credentials from the AWS chain) or `sqs://<key id>:<secret>@`, or `memory://` for the in-process broker.
   * Several RabbitMQ nodes fail over as in Celery: `'amqp://u:p@rabbit1//;amqp://u:p@rabbit2//'`
   * (later ones may be a host only, `;rabbit3:5672`, taking the first URL's user, password and
   * vhost), or a list of URLs.
   */
  url: string | readonly string[];
  /**
   * Which node of a failover list to try after losing one (Celery's `broker_failover_strategy`):
   * 'round-robin' (default: the next in the list) or 'shuffle' (the list in a new random order
   * each round).
   */
  failoverStrategy?: FailoverStrategy;
  /** AMQP heartbeat in seconds (Celery: `broker_heartbeat`). Default 60. */
  heartbeatSeconds?: number;
  /** First reconnect delay in ms; it grows up to 30 s. Default 1000. */
  reconnectDelayMs?: number;
  /** How long a send waits for the broker's confirm, including while reconnecting. Default 30000. */
  publishTimeoutMs?: number;
  /** How long start-up waits for the first connection. Default 30000. */
  connectTimeoutMs?: number;
  /** Longest delay between reconnect attempts, ms. Default 30000. */
  maxReconnectDelayMs?: number;
  /** How long close() waits for unconfirmed sends, ms. Default 10000. */
  closeTimeoutMs?: number;
  /** Name shown in RabbitMQ's management UI and `rabbitmqctl list_connections`. Default `nestjs-celery <host>:<pid>`. */
  connectionName?: string;
  /** TLS material for amqps:// (ca, cert, key, passphrase, servername), passed to amqplib. */
  socketOptions?: Record<string, unknown>;
  /**
   * Redis and SQS: seconds a delivered message may stay unacked before it is given back to its queue
   * (Celery: `broker_transport_options = {'visibility_timeout': …}`). Default 3600 on Redis, 1800
   * on SQS (kombu's defaults), or the URL's `?visibility_timeout=`. Must exceed your longest task
   * and farthest ETA/countdown.
   */
  visibilityTimeoutSeconds?: number;
  /** SQS only: Celery's `broker_transport_options` for SQS (region, queue name prefix, long polling, predefined queues…). */
  sqs?: SqsTransportOptions;
}

export const BROKER_OPTION_KEYS = optionKeys<BrokerOptions>()(
  'url', 'heartbeatSeconds', 'reconnectDelayMs', 'publishTimeoutMs', 'connectTimeoutMs', 'maxReconnectDelayMs', 'closeTimeoutMs', 'connectionName', 'socketOptions', 'visibilityTimeoutSeconds', 'failoverStrategy', 'sqs',
);

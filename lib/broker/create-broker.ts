import { InvalidBrokerUrlError } from '../errors/invalid-broker-url.error';
import { UnsupportedBrokerUrlError } from '../errors/unsupported-broker-url.error';
import { maskUrl } from '../utils/mask-secrets';
import type { AmqpBrokerOptions } from './amqp/amqp-broker-options';
import { AMQP_URL_SCHEMES, urlScheme } from './amqp/amqp-url';
import type { Broker } from './broker.interface';
import type { RedisBrokerOptions } from './redis/redis-broker';
import { REDIS_URL_SCHEMES } from './redis/redis-url';
import type { SqsBrokerOptions } from './sqs/sqs-broker';

/** Every scheme createBroker() accepts. */
export const SUPPORTED_BROKER_SCHEMES = [...AMQP_URL_SCHEMES, ...REDIS_URL_SCHEMES, 'sqs', 'memory'] as const;

/** Schemes Celery supports that will come later (none at the moment; `socket://` and the cloud transports are not planned). */
const NOT_YET_SUPPORTED_SCHEMES: readonly string[] = [];

/** Broker settings besides the URL (the AMQP ones; Redis and SQS use the timeouts, logger and events; the in-process broker only `logger`). */
export type BrokerSettings = Omit<AmqpBrokerOptions, 'url'> & Pick<RedisBrokerOptions, 'visibilityTimeoutSeconds'> & Pick<SqsBrokerOptions, 'sqs'>;

/**
 * The broker a URL names, like Celery's `broker_url`: amqp://, amqps:// or pyamqp:// → RabbitMQ;
 * no URL or memory:// → the in-process broker (kombu's memory transport; brokers created from the
 * same memory:// URL share their queues, as in kombu); redis://, rediss:// or sentinel:// → Redis, as kombu's
 * Redis transport; sqs:// → Amazon SQS, as kombu's SQS transport. Anything else → UnsupportedBrokerUrlError.
 */
export function createBroker(url: string | undefined, settings: BrokerSettings = {}): Broker {
  if (url === undefined) return memoryBroker('memory://', settings);
  const scheme = urlScheme(url) ?? '';
  if ((AMQP_URL_SCHEMES as readonly string[]).includes(scheme)) {
    const { AmqpBroker } = require('./amqp/amqp-broker') as typeof import('./amqp/amqp-broker');
    return new AmqpBroker({ ...settings, url });
  }
  if (url.includes(';') && !(AMQP_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new InvalidBrokerUrlError(maskUrl(url), `failover lists (URLs separated by ';') are supported for RabbitMQ (amqp://) only; give one ${scheme}:// URL`);
  }
  if ((REDIS_URL_SCHEMES as readonly string[]).includes(scheme)) {
    const { RedisBroker } = require('./redis/redis-broker') as typeof import('./redis/redis-broker');
    const { connectTimeoutMs, publishTimeoutMs, connectionName, logger, events, visibilityTimeoutSeconds } = settings;
    return new RedisBroker({ url, connectTimeoutMs, publishTimeoutMs, connectionName, logger, events, visibilityTimeoutSeconds });
  }
  if (scheme === 'sqs') {
    const { SqsBroker } = require('./sqs/sqs-broker') as typeof import('./sqs/sqs-broker');
    const { connectTimeoutMs, publishTimeoutMs, logger, events, visibilityTimeoutSeconds, sqs } = settings;
    return new SqsBroker({ url, sqs, connectTimeoutMs, publishTimeoutMs, logger, events, visibilityTimeoutSeconds });
  }
  if (scheme === 'memory') return memoryBroker(url, settings);
  throw new UnsupportedBrokerUrlError(maskUrl(url), scheme, SUPPORTED_BROKER_SCHEMES, NOT_YET_SUPPORTED_SCHEMES);
}

/*
 * Each transport's module (and its client library: amqplib, ioredis, the AWS SDK) is loaded when a URL selects
 * it, not when nestjs-celery is imported: a worker loads only the broker it is configured with.
 */
function memoryBroker(url: string, settings: BrokerSettings): Broker {
  const { MemoryBroker } = require('./memory/memory-broker') as typeof import('./memory/memory-broker');
  const { sharedMemoryVirtualHost } = require('./memory/shared-virtual-hosts') as typeof import('./memory/shared-virtual-hosts');
  return new MemoryBroker({ virtualHost: sharedMemoryVirtualHost(url), logger: settings.logger });
}

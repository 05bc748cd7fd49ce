import { optionKeys } from '../utils/option-keys';
import type { ExchangeType, QueueDeclaration } from './broker.interface';

/**
 * How a task queue differs from Celery's default, in the vocabulary of kombu's
 * `Queue(name, Exchange(...), routing_key=..., max_priority=..., queue_arguments=...)`.
 * Durations are in seconds, as in kombu; they become integer milliseconds on the wire.
 */
export interface CeleryQueueOptions {
  /** kombu `max_priority` / Celery `task_queue_max_priority` → `x-max-priority`. */
  maxPriority?: number;
  /** `x-dead-letter-exchange`: where rejected (requeue=false) and expired messages go. */
  deadLetterExchange?: string;
  /** `x-dead-letter-routing-key`: the routing key they are dead-lettered with (default: their own). */
  deadLetterRoutingKey?: string;
  /** `x-queue-type`. Quorum queues must be durable and cannot have x-max-priority on RabbitMQ 3.x. */
  queueType?: 'classic' | 'quorum' | 'stream';
  /** kombu `expires`, seconds → `x-expires`: the queue is deleted after being unused this long. */
  expires?: number;
  /** kombu `message_ttl`, seconds → `x-message-ttl`. */
  messageTtl?: number;
  /** kombu `max_length` → `x-max-length`. */
  maxLength?: number;
  /** kombu `max_length_bytes` → `x-max-length-bytes`. */
  maxLengthBytes?: number;
  /** kombu `queue_arguments`: any other argument, sent as given (the named options above win). */
  arguments?: Record<string, unknown>;
  /** Exchange name; default: the queue name (Celery's auto-created queues). */
  exchange?: string;
  /** Exchange type; default 'direct'. */
  exchangeType?: ExchangeType;
  /** Binding key; default: the queue name. */
  routingKey?: string;
  /** Default true, like every Celery task queue. */
  durable?: boolean;
  /** Default false. */
  autoDelete?: boolean;
  /** Default false; true implies autoDelete, as in kombu. */
  exclusive?: boolean;
}

export const CELERY_QUEUE_OPTION_KEYS = optionKeys<CeleryQueueOptions>()(
  'maxPriority', 'deadLetterExchange', 'deadLetterRoutingKey', 'queueType', 'expires', 'messageTtl', 'maxLength', 'maxLengthBytes', 'arguments',
  'exchange', 'exchangeType', 'routingKey', 'durable', 'autoDelete', 'exclusive',
);

/**
 * The declaration a Python Celery 5 worker or client makes for a task queue (celery-protocol.md
 * §1.1, §1.2 step 1, §1.3): durable queue `name`, durable direct exchange `name`, bound with key
 * `name`, and no arguments unless asked. Declaring with anything else makes RabbitMQ refuse one
 * side with PRECONDITION_FAILED, so every participant must use the same options.
 */
export function celeryTaskQueue(name: string, overrides: CeleryQueueOptions = {}): QueueDeclaration {
  const exclusive = overrides.exclusive ?? false;
  return {
    name,
    durable: overrides.durable ?? true,
    exclusive,
    autoDelete: exclusive || (overrides.autoDelete ?? false),
    arguments: celeryQueueArguments(overrides),
    exchange: { name: overrides.exchange ?? name, type: overrides.exchangeType ?? 'direct', durable: true, autoDelete: false },
    routingKey: overrides.routingKey ?? name,
  };
}

/** kombu's `to_rabbitmq_queue_arguments`: raw arguments, then the named options, left out when unset. */
function celeryQueueArguments(options: CeleryQueueOptions): Record<string, unknown> {
  const named: Record<string, unknown> = {
    'x-expires': secondsToMilliseconds(options.expires),
    'x-message-ttl': secondsToMilliseconds(options.messageTtl),
    'x-max-length': options.maxLength,
    'x-max-length-bytes': options.maxLengthBytes,
    'x-max-priority': options.maxPriority,
    'x-dead-letter-exchange': options.deadLetterExchange,
    'x-dead-letter-routing-key': options.deadLetterRoutingKey,
    'x-queue-type': options.queueType,
  };
  const result: Record<string, unknown> = { ...options.arguments };
  for (const [key, value] of Object.entries(named)) if (value !== undefined) result[key] = value;
  return result;
}

/** kombu's `_to_ms`: `int(seconds * 1000)`, truncated like Python's int(). */
function secondsToMilliseconds(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.trunc(seconds * 1000);
}

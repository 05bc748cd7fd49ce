import { formatCeleryDate } from '../protocol/celery-time';
import { pythonRepr } from '../protocol/python-repr';
import type { TaskMessage } from '../protocol/task-message';
import type { PublishDestination, RunDelivery } from './task-tracer';

/**
 * Span names and attributes as opentelemetry-instrumentation-celery (Python) writes them, so a
 * trace view shows Nest and Python workers alike: `apply_async/<task>` and `run/<task>`, the
 * `celery.*` keys of its CELERY_CONTEXT_ATTRIBUTES (`set_attributes_from_context`) and its
 * `messaging.*` keys (it mixes semantic-convention generations: the producer span has
 * `messaging.message_id`, the consumer span `messaging.message.id`).
 */
export const CeleryAttributes = {
  action: 'celery.action',
  taskName: 'celery.task_name',
  state: 'celery.state',
  retryReason: 'celery.retry.reason',
  hostname: 'celery.hostname',
  deliveryInfo: 'celery.delivery_info',
  replyTo: 'celery.reply_to',
  retries: 'celery.retries',
  timeLimit: 'celery.timelimit',
  eta: 'celery.eta',
  expires: 'celery.expires',
  priority: 'celery.priority',
  exchange: 'celery.exchange',
  publishMessageId: 'messaging.message_id',
  runMessageId: 'messaging.message.id',
  conversationId: 'messaging.conversation_id',
  destination: 'messaging.destination',
  destinationKind: 'messaging.destination_kind',
} as const;

export type SpanAttributeValue = string | number | boolean | string[] | number[];

export function publishSpanName(message: TaskMessage): string {
  return `apply_async/${message.task}`;
}

export function runSpanName(message: TaskMessage): string {
  return `run/${message.task}`;
}

/** The producer span's attributes: what `_trace_before_publish` sets from the publish arguments. */
export function publishAttributes(message: TaskMessage, destination: PublishDestination): Record<string, SpanAttributeValue> {
  const attributes: Record<string, SpanAttributeValue> = {
    [CeleryAttributes.action]: 'apply_async',
    [CeleryAttributes.publishMessageId]: message.id,
    [CeleryAttributes.taskName]: message.task,
    [CeleryAttributes.destination]: destination.routingKey,
  };
  if (destination.exchange !== '') attributes[CeleryAttributes.exchange] = destination.exchange;
  // Celery's `declare` kind: a queue behind a direct exchange (the default one too), or a topic.
  const kind = destination.exchangeType ?? 'direct';
  if (kind === 'direct' || kind === 'topic') attributes[CeleryAttributes.destinationKind] = kind === 'direct' ? 'queue' : 'topic';
  return attributes;
}

/** The consumer span's attributes: what `_trace_postrun` sets from `task.request` (the state comes at the end). */
export function runAttributes(message: TaskMessage, delivery: RunDelivery): Record<string, SpanAttributeValue> {
  const attributes: Record<string, SpanAttributeValue> = {
    [CeleryAttributes.action]: 'run',
    [CeleryAttributes.taskName]: message.task,
    [CeleryAttributes.runMessageId]: message.id,
    [CeleryAttributes.destination]: delivery.routingKey,
    [CeleryAttributes.deliveryInfo]: pythonRepr({
      exchange: delivery.exchange,
      routing_key: delivery.routingKey,
      priority: message.priority,
      redelivered: delivery.redelivered,
    }),
    // `origin` comes after `hostname` in Celery's list and overwrites it: the sender's node when named.
    [CeleryAttributes.hostname]: message.origin ?? delivery.hostname,
  };
  if (message.correlationId) attributes[CeleryAttributes.conversationId] = message.correlationId;
  if (message.replyTo) attributes[CeleryAttributes.replyTo] = message.replyTo;
  if (message.retries > 0) attributes[CeleryAttributes.retries] = message.retries;
  if (message.priority !== null) attributes[CeleryAttributes.priority] = message.priority;
  if (message.eta) attributes[CeleryAttributes.eta] = formatCeleryDate(message.eta);
  if (message.expires) attributes[CeleryAttributes.expires] = formatCeleryDate(message.expires);
  const [hard, soft] = message.timeLimit;
  // Celery skips an unset (None, None) and writes '' for a missing half.
  if (hard !== null || soft !== null) attributes[CeleryAttributes.timeLimit] = [hard ?? '', soft ?? ''].map(String);
  return attributes;
}

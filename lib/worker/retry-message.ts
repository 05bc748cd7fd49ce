import { OutgoingMessage, DeliveryInfo } from '../broker/broker.interface';
import { hasDelayPrefix } from '../broker/delayed-delivery/delayed-routing-key';
import type { MessageSigner } from '../protocol/auth-serializer';
import { encodeTaskMessage } from '../protocol/encode-task-message';
import { TaskMessage } from '../protocol/task-message';

/**
 * The message that retries a task, as Celery's `Task.retry()` builds it (celery-protocol.md §6):
 * same id, args and workflow links, retries + 1, the new eta, parent_id = the task itself; sent
 * back where the original came from; signed when the worker has a signer. The producer's own
 * headers (Celery 5.3+ stamps, trace context, application headers) and its `ignore_result` are
 * kept as they came, as Celery 5.6 keeps them (`Context.as_execution_options`; 5.2.6 dropped
 * them), but for RabbitMQ's dead-lettering headers, which Celery 5.6 filters out too so that
 * RabbitMQ does not see a dead-letter cycle.
 */
export function retryMessage(
  message: TaskMessage,
  deliveryInfo: DeliveryInfo,
  eta: Date,
  origin: string,
  queue?: string,
  signer: MessageSigner | null = null,
  traceHeaders: Readonly<Record<string, string>> = {},
): OutgoingMessage {
  const retried: TaskMessage = {
    ...message,
    retries: message.retries + 1,
    eta,
    rootId: message.rootId ?? message.id,
    parentId: message.id,
    origin,
    argsrepr: null,
    kwargsrepr: null,
    // The retry's own producer span replaces the context it came with, as Python's apply_async does.
    customHeaders: { ...withoutDeadLetterHeaders(message.customHeaders), ...traceHeaders },
  };
  const { properties, body } = encodeTaskMessage(retried, signer);
  return { ...retryDestination(deliveryInfo, queue), properties, body };
}

/**
 * Where a retry goes: a queue named by retry() wins; through the default exchange, or back from
 * the delay queues (a celery_delayed_* exchange and a prefixed key), straight to the queue it
 * came from; otherwise the original exchange and key.
 */
export function retryDestination(deliveryInfo: DeliveryInfo, queue?: string): { exchange: string; routingKey: string } {
  if (queue) return { exchange: '', routingKey: queue };
  if (deliveryInfo.exchange === '' || hasDelayPrefix(deliveryInfo.routingKey)) return { exchange: '', routingKey: deliveryInfo.queue };
  return { exchange: deliveryInfo.exchange, routingKey: deliveryInfo.routingKey };
}

/** Celery 5.6's `X_DEATH_HEADERS` (celery/app/task.py): RabbitMQ's record of earlier dead-letterings. */
const DEAD_LETTER_HEADERS: ReadonlySet<string> = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
]);

function withoutDeadLetterHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(headers).some((name) => DEAD_LETTER_HEADERS.has(name))) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !DEAD_LETTER_HEADERS.has(name)));
}

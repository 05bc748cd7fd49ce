import { OutgoingMessage, DeliveryInfo } from '../broker/broker.interface';
import { hasDelayPrefix } from '../broker/delayed-delivery/delayed-routing-key';
import type { MessageSigner } from '../protocol/auth-serializer';
import { encodeTaskMessage } from '../protocol/encode-task-message';
import { TaskMessage } from '../protocol/task-message';

/**
 * The message that retries a task, as Celery's `Task.retry()` builds it (celery-protocol.md §6):
 * same id, args and workflow links, retries + 1, the new eta, parent_id = the task itself, custom
 * headers dropped; sent back where the original came from; signed when the worker has a signer.
 */
export function retryMessage(
  message: TaskMessage,
  deliveryInfo: DeliveryInfo,
  eta: Date,
  origin: string,
  ignoreResult: boolean,
  queue?: string,
  signer: MessageSigner | null = null,
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
    customHeaders: {},
    ignoreResult,
  };
  const { properties, body } = encodeTaskMessage(retried, signer);
  // A queue named by retry() wins; through the default exchange, or back from the delay queues
  // (a celery_delayed_* exchange and a prefixed key), straight to the queue it came from;
  // otherwise keep the original exchange and key.
  const { exchange, routingKey } = queue
    ? { exchange: '', routingKey: queue }
    : deliveryInfo.exchange === '' || hasDelayPrefix(deliveryInfo.routingKey)
      ? { exchange: '', routingKey: deliveryInfo.queue }
      : deliveryInfo;
  return { exchange, routingKey, properties, body };
}

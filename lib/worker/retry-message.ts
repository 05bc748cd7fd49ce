import { OutgoingMessage, DeliveryInfo } from '../broker/broker.interface';
import { encodeTaskMessage } from '../protocol/encode-task-message';
import { TaskMessage } from '../protocol/task-message';

/**
 * The message that retries a task, as Celery's `Task.retry()` builds it (celery-protocol.md §6):
 * same id, args and workflow links, retries + 1, the new eta, parent_id = the task itself, custom
 * headers dropped; sent back where the original came from.
 */
export function retryMessage(
  message: TaskMessage,
  deliveryInfo: DeliveryInfo,
  eta: Date,
  origin: string,
  ignoreResult: boolean,
  queue?: string,
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
  const { properties, body } = encodeTaskMessage(retried);
  // A queue named by retry() wins; through the default exchange the routing key is the queue;
  // otherwise keep the original exchange and key.
  const { exchange, routingKey } = queue
    ? { exchange: '', routingKey: queue }
    : deliveryInfo.exchange === ''
      ? { exchange: '', routingKey: deliveryInfo.queue }
      : deliveryInfo;
  return { exchange, routingKey, properties, body };
}

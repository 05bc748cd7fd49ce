import { DeliveryInfo } from '../broker/broker.interface';
import { RetryRequested } from '../errors/retry-requested';
import { TaskMessage } from '../protocol/task-message';
import { stampsOfHeaders } from '../protocol/stamps';
import { TaskContext } from '../task/task-context';

/** The context a running task sees (Celery's `self.request`), built from its message. */
export function createTaskContext(message: TaskMessage, deliveryInfo: DeliveryInfo, hostname: string, signal: AbortSignal): TaskContext {
  return {
    id: message.id,
    name: message.task,
    args: message.args,
    kwargs: message.kwargs,
    retries: message.retries,
    rootId: message.rootId,
    parentId: message.parentId,
    groupId: message.group,
    eta: message.eta,
    expires: message.expires,
    headers: message.customHeaders,
    stamps: stampsOfHeaders(message.customHeaders),
    deliveryInfo,
    replyTo: message.replyTo,
    correlationId: message.correlationId,
    hostname,
    signal,
    retry: (options = {}) => {
      throw new RetryRequested(options);
    },
  };
}

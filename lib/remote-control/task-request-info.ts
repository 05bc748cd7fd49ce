import type { DeliveryInfo } from '../broker/broker.interface';
import { argsRepr, kwargsRepr } from '../protocol/python-repr';
import type { TaskMessage } from '../protocol/task-message';
import type { TaskRequestInfo } from '../control/control-replies';

/** A task this worker holds, running or waiting, with what `Request.info()` reports about it. */
export interface HeldTask {
  message: TaskMessage;
  /** Undefined if it left the worker between two looks; reported as an empty delivery. */
  deliveryInfo: DeliveryInfo | undefined;
  /** When it started running; null while it waits. */
  startedAt: Date | null;
  acknowledged: boolean;
}

/**
 * Celery's `Request.info(safe)` for one task (Fx worker_pidbox_active): with `safe`, the args
 * are the repr strings a Python worker would show instead of the values.
 */
export function taskRequestInfo(task: HeldTask, hostname: string, safe: boolean): TaskRequestInfo {
  const { message, deliveryInfo, startedAt } = task;
  return {
    id: message.id,
    name: message.shadow ?? message.task,
    args: safe ? (message.argsrepr ?? argsRepr(message.args)) : message.args,
    kwargs: safe ? (message.kwargsrepr ?? kwargsRepr(message.kwargs)) : message.kwargs,
    type: message.task,
    hostname,
    time_start: startedAt ? startedAt.getTime() / 1000 : null,
    acknowledged: task.acknowledged,
    delivery_info: {
      exchange: deliveryInfo?.exchange ?? '',
      routing_key: deliveryInfo?.routingKey ?? '',
      priority: message.priority,
      redelivered: deliveryInfo?.redelivered ?? false,
    },
    worker_pid: startedAt ? process.pid : null,
  };
}

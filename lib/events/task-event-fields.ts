import type { RevokeReason } from '../errors/task-revoked.error';
import { formatCeleryDate } from '../protocol/celery-time';
import { argsRepr, kwargsRepr } from '../protocol/python-repr';
import type { TaskMessage } from '../protocol/task-message';
import type { EventFields } from './celery-event';
import { eventTraceback, exceptionRepr } from './exception-repr';
import { safeRepr } from './safe-repr';

/*
 * The fields of each task event, as a Celery 5.2.6 worker sends them (celery-protocol.md §8.3,
 * Fx worker_event_task_*), in Celery's order. Pure functions: the dispatcher adds the common ones.
 */

/** Signal number Celery reports for `revoke(terminate=True)`: its default, SIGTERM. */
const TERMINATE_SIGNUM = 15;

/**
 * task-received: the only event that carries the task's name, arguments and workflow ids, which
 * monitors keep for the task's later events. `name` is the shadow name when there is one;
 * `args` / `kwargs` are the `argsrepr` / `kwargsrepr` headers, or our own repr of the arguments
 * when a producer left them out (Celery would send an empty string).
 */
export function taskReceivedFields(message: TaskMessage): EventFields {
  return {
    uuid: message.id,
    name: message.shadow ?? message.task,
    args: message.argsrepr ?? argsRepr(message.args),
    kwargs: message.kwargsrepr ?? kwargsRepr(message.kwargs),
    root_id: message.rootId,
    parent_id: message.parentId,
    retries: message.retries,
    eta: message.eta ? formatCeleryDate(message.eta) : null,
    expires: message.expires ? formatCeleryDate(message.expires) : null,
  };
}

/** task-started: the task began to run. */
export function taskStartedFields(message: Pick<TaskMessage, 'id'>): EventFields {
  return { uuid: message.id };
}

/** task-succeeded: `result` is the return value's repr (saferepr, 1024 characters), `runtime` in seconds. */
export function taskSucceededFields(message: Pick<TaskMessage, 'id'>, result: unknown, runtimeSeconds: number): EventFields {
  return { uuid: message.id, result: safeRepr(result), runtime: runtimeSeconds };
}

/**
 * task-failed: the exception's repr and traceback. A task that never ran (unknown task, bad
 * message) gets no traceback, as Celery's NotRegistered event.
 */
export function taskFailedFields(message: Pick<TaskMessage, 'id'>, error: unknown, ran: boolean): EventFields {
  return ran ? { uuid: message.id, exception: exceptionRepr(error), traceback: eventTraceback(error) } : { uuid: message.id, exception: exceptionRepr(error) };
}

/** task-retried: the repr of the error given to retry (`None` without one) and its traceback. */
export function taskRetriedFields(message: Pick<TaskMessage, 'id'>, error: unknown): EventFields {
  return { uuid: message.id, exception: exceptionRepr(error), traceback: eventTraceback(error) };
}

/** task-revoked: why it did not run or stopped; a terminated task reports SIGTERM as Celery's default. */
export function taskRevokedFields(message: Pick<TaskMessage, 'id'>, reason: RevokeReason): EventFields {
  const terminated = reason === 'terminated';
  return { uuid: message.id, terminated, signum: terminated ? TERMINATE_SIGNUM : null, expired: reason === 'expired' };
}

/** task-rejected: the message was rejected, handed back to the queue when `requeue`. */
export function taskRejectedFields(message: Pick<TaskMessage, 'id'>, requeue: boolean): EventFields {
  return { uuid: message.id, requeue };
}

/** Where a sent task was published. */
export interface SentRoute {
  queue: string;
  exchange: string;
  routingKey: string;
}

/**
 * task-sent, published by a client (Celery's `task_send_sent_event`, Fx event_task_sent): read
 * from the v2 headers just sent, so `args`, `eta`… are exactly the texts the worker will see.
 */
export function taskSentFields(headers: Readonly<Record<string, unknown>>, route: SentRoute): EventFields {
  return {
    uuid: headers.id,
    root_id: headers.root_id,
    parent_id: headers.parent_id,
    name: headers.task,
    args: headers.argsrepr,
    kwargs: headers.kwargsrepr,
    retries: headers.retries,
    eta: headers.eta,
    expires: headers.expires,
    queue: route.queue,
    exchange: route.exchange,
    routing_key: route.routingKey,
  };
}

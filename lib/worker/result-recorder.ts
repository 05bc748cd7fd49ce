import { ResultBackend } from '../backend/result-backend.interface';
import { withoutDelayPrefix } from '../broker/delayed-delivery/delayed-routing-key';
import { toExceptionInfo, tracebackOf } from '../protocol/exception-info';
import { RevokeReason, TaskRevokedError } from '../errors/task-revoked.error';
import { TaskResultMeta } from '../protocol/result-meta';
import { TaskState, TaskStateName } from '../protocol/task-states';
import { TaskMessage } from '../protocol/task-message';
import { stampsOfHeaders } from '../protocol/stamps';

/**
 * Turns what happened to a task into the result meta Celery stores (celery-protocol.md §4.0,
 * §4.5), with the extended fields (`result_extended`), and hands it to the backend.
 */
export class ResultRecorder {
  constructor(
    private readonly backend: ResultBackend,
    private readonly workerHostname: string,
  ) {}

  started(message: TaskMessage, queue: string): Promise<void> {
    return this.store(message, queue, TaskState.STARTED, { pid: process.pid, hostname: this.workerHostname }, null, null);
  }

  /** `children`: result tuples of the tasks it sent (chain step, callbacks), Celery's `children`. */
  success(message: TaskMessage, queue: string, value: unknown, children: unknown[] = []): Promise<void> {
    return this.store(message, queue, TaskState.SUCCESS, value === undefined ? null : value, null, new Date(), children);
  }

  failure(message: Pick<TaskMessage, 'id'> & Partial<TaskMessage>, queue: string, error: unknown): Promise<void> {
    return this.store(message, queue, TaskState.FAILURE, toExceptionInfo(error), tracebackOf(error), new Date());
  }

  /** RETRY with the error that caused it (null when retry() named none), no date_done. */
  retry(message: TaskMessage, queue: string, cause: unknown): Promise<void> {
    return this.store(message, queue, TaskState.RETRY, cause === undefined ? null : toExceptionInfo(cause), tracebackOf(cause), null);
  }

  /** Celery's TaskRevokedError: 'revoked', 'terminated' or 'expired'. */
  revoked(message: TaskMessage, queue: string, reason: RevokeReason): Promise<void> {
    return this.store(message, queue, TaskState.REVOKED, toExceptionInfo(new TaskRevokedError(reason)), null, new Date());
  }

  /**
   * A state the task asked for (Celery's `update_state`): with the running task's request, as
   * Celery stores it, so rpc:// sends it to that task's `reply_to` even for another task's id.
   */
  custom(message: TaskMessage, queue: string, update: { taskId: string; state: TaskStateName; meta: unknown }): Promise<void> {
    return this.store({ ...message, id: update.taskId }, queue, update.state, update.meta, null, null);
  }

  private store(
    message: Pick<TaskMessage, 'id'> & Partial<TaskMessage>,
    queue: string,
    status: TaskStateName,
    result: unknown,
    traceback: string | null,
    dateDone: Date | null,
    children: unknown[] = [],
  ): Promise<void> {
    const meta: TaskResultMeta = {
      taskId: message.id,
      status,
      result,
      traceback,
      children,
      dateDone,
      groupId: message.group ?? null,
      parentId: message.parentId ?? null,
      name: message.task ?? null,
      args: message.args ?? null,
      kwargs: message.kwargs ?? null,
      worker: this.workerHostname,
      retries: message.retries ?? 0,
      // Celery's `queue` is the delivery routing key; the delay queues' digits are not part of it.
      queue: withoutDelayPrefix(queue),
      ...stampsOf(message),
    };
    return this.backend.storeResult(meta, { replyTo: message.replyTo ?? null, correlationId: message.correlationId ?? message.id });
  }
}

/** `{ stamps }` when the task carried stamps (Celery 5.3+), else nothing: metas of unstamped tasks keep their shape. */
function stampsOf(message: Partial<TaskMessage>): Pick<TaskResultMeta, 'stamps'> {
  const stamps = message.customHeaders ? stampsOfHeaders(message.customHeaders) : {};
  return Object.keys(stamps).length > 0 ? { stamps } : {};
}

import type { RevokeReason } from '../errors/task-revoked.error';
import { CeleryLogger } from '../utils/logger';
import { TaskContext } from '../task/task-context';

/**
 * Celery's task signals, in camelCase, each sent in this process around a task it runs:
 * `prerun` (task_prerun), `success` (task_success), `failure` (task_failure), `retry`
 * (task_retry), `revoked` (task_revoked: revoked, terminated or expired), `postrun`
 * (task_postrun, after every outcome of a task that ran). Not to be confused with Celery's
 * *events* (task-succeeded, worker-heartbeat…), the messages workers publish for monitors.
 */
export type TaskSignalName = 'prerun' | 'success' | 'failure' | 'retry' | 'revoked' | 'postrun';

/** What a signal handler receives (Celery passes the same as keyword arguments: `sender`, `task_id`, `result`…). */
export interface TaskSignal {
  signal: TaskSignalName;
  task: TaskContext;
  /** success: the return value. */
  result?: unknown;
  /** failure and retry: the error. */
  error?: unknown;
  /** success, failure, retry, postrun: milliseconds the task ran. */
  runtimeMs?: number;
  /** postrun: the state stored (SUCCESS, FAILURE, RETRY, REVOKED). */
  state?: string;
  /** revoked: why it did not run or stopped. */
  reason?: RevokeReason;
}

export type TaskSignalHandler = (signal: TaskSignal) => unknown;

/**
 * The app's task signal handlers, by signal, optionally limited to some task names: Celery's
 * `task_failure.connect(handler, sender=…)`; `@OnTaskSignal()` methods land here too. A handler
 * that throws is logged and never changes the task's outcome. With no handler for a signal,
 * sending it costs nothing.
 */
export class TaskSignals {
  private readonly handlers = new Map<TaskSignalName, { handler: TaskSignalHandler; tasks: ReadonlySet<string> | null; source: string }[]>();

  constructor(private readonly logger: CeleryLogger) {}

  /** Connects a handler (Celery: `signal.connect`), for every task or only those named in `tasks`. */
  on(signal: TaskSignalName, handler: TaskSignalHandler, options: { tasks?: readonly string[]; source?: string } = {}): void {
    const list = this.handlers.get(signal) ?? [];
    list.push({ handler, tasks: options.tasks ? new Set(options.tasks) : null, source: options.source ?? 'a task signal handler' });
    this.handlers.set(signal, list);
  }

  has(signal: TaskSignalName): boolean {
    return this.handlers.has(signal);
  }

  async send(signal: TaskSignal): Promise<void> {
    const list = this.handlers.get(signal.signal);
    if (!list) return;
    for (const { handler, tasks, source } of list) {
      if (tasks && !tasks.has(signal.task.name)) continue;
      try {
        await handler(signal);
      } catch (error) {
        this.logger.error(`${source} failed on ${signal.signal} of ${signal.task.name}[${signal.task.id}]: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}

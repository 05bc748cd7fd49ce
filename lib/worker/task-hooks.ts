import type { RevokeReason } from '../errors/task-revoked.error';
import { CeleryLogger } from '../utils/logger';
import { TaskContext } from '../task/task-context';

/**
 * Moments of a task's life an app can hook into, Celery's task signals in camelCase:
 * `prerun` (task_prerun), `success` (task_success), `failure` (task_failure), `retry`
 * (task_retry), `revoked` (task_revoked: revoked, terminated or expired), `postrun`
 * (task_postrun, after every outcome of a task that ran).
 */
export type TaskEventName = 'prerun' | 'success' | 'failure' | 'retry' | 'revoked' | 'postrun';

/** What a hook receives. */
export interface TaskEvent {
  event: TaskEventName;
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

export type TaskEventHandler = (event: TaskEvent) => unknown;

/**
 * The app's task hooks, by event, optionally limited to some task names. A hook that throws is
 * logged and never changes the task's outcome. With no hook for an event, emitting costs nothing.
 */
export class TaskHooks {
  private readonly handlers = new Map<TaskEventName, { handler: TaskEventHandler; tasks: ReadonlySet<string> | null; source: string }[]>();

  constructor(private readonly logger: CeleryLogger) {}

  on(event: TaskEventName, handler: TaskEventHandler, options: { tasks?: readonly string[]; source?: string } = {}): void {
    const list = this.handlers.get(event) ?? [];
    list.push({ handler, tasks: options.tasks ? new Set(options.tasks) : null, source: options.source ?? 'a task hook' });
    this.handlers.set(event, list);
  }

  has(event: TaskEventName): boolean {
    return this.handlers.has(event);
  }

  async emit(event: TaskEvent): Promise<void> {
    const list = this.handlers.get(event.event);
    if (!list) return;
    for (const { handler, tasks, source } of list) {
      if (tasks && !tasks.has(event.task.name)) continue;
      try {
        await handler(event);
      } catch (error) {
        this.logger.error(`${source} failed on ${event.event} of ${event.task.name}[${event.task.id}]: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}

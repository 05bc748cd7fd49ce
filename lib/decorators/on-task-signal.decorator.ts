import { SetMetadata } from '@nestjs/common';
import { CELERY_TASK_SIGNAL_METADATA } from '../celery.constants';
import { TaskSignalName } from '../worker/task-signals';

/** Options of `@OnTaskSignal()`. */
export interface OnTaskSignalOptions {
  /** Only for these task names (Celery: the signal's `sender`); default: every task. */
  tasks?: string[];
}

export interface TaskSignalMetadata extends OnTaskSignalOptions {
  signal: TaskSignalName;
}

/**
 * Runs a provider method on one of Celery's task signals for every task this process runs
 * (`task_prerun`, `task_success`, `task_failure`, `task_retry`, `task_revoked`, `task_postrun`),
 * to log, trace or alert without touching each task: Celery's `@task_failure.connect`. The method
 * receives a TaskSignal; if it throws, the error is logged and the task's outcome is unchanged.
 * (Celery's *events*, which workers publish for monitors, are another thing: see `worker.sendTaskEvents`.)
 *
 * ```ts
 * @OnTaskSignal('failure')
 * alert({ task, error }: TaskSignal) { this.pager.send(`${task.name} failed: ${error}`); }
 * ```
 */
export function OnTaskSignal(signal: TaskSignalName, options: OnTaskSignalOptions = {}): MethodDecorator {
  return SetMetadata<string, TaskSignalMetadata>(CELERY_TASK_SIGNAL_METADATA, { signal, ...options });
}

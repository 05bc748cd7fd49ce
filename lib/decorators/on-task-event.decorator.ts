import { SetMetadata } from '@nestjs/common';
import { CELERY_TASK_EVENT_METADATA } from '../celery.constants';
import { TaskEventName } from '../worker/task-hooks';

/** Options of `@OnTaskEvent()`. */
export interface OnTaskEventOptions {
  /** Only for these task names; default: every task. */
  tasks?: string[];
}

export interface TaskEventMetadata extends OnTaskEventOptions {
  event: TaskEventName;
}

/**
 * Runs a provider method at a moment of every task's life (Celery's task signals:
 * `task_prerun`, `task_success`, `task_failure`, `task_retry`, `task_postrun`), to log, trace or
 * alert without touching each task. The method receives a TaskEvent; if it throws, the error is
 * logged and the task's outcome is unchanged.
 *
 * ```ts
 * @OnTaskEvent('failure')
 * alert({ task, error }: TaskEvent) { this.pager.send(`${task.name} failed: ${error}`); }
 * ```
 */
export function OnTaskEvent(event: TaskEventName, options: OnTaskEventOptions = {}): MethodDecorator {
  return SetMetadata<string, TaskEventMetadata>(CELERY_TASK_EVENT_METADATA, { event, ...options });
}

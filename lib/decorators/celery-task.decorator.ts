import { SetMetadata } from '@nestjs/common';
import { CELERY_TASK_METADATA } from '../celery.constants';
import { TaskOptions } from '../worker/task-definition';

/** Options of `@CeleryTask()`: the task's registered name and Celery task attributes. */
export type CeleryTaskOptions = TaskOptions;

/**
 * Marks a provider method as a Celery task (Celery's `@app.task`). The module finds it at
 * bootstrap and runs it for messages sent by Python, PHP, Java or Nest; the method keeps its
 * ordinary signature and stays callable directly.
 *
 * ```ts
 * @CeleryTask({ name: 'tasks.add' })
 * add(x: number, y: number) { return x + y; }
 * ```
 */
export function CeleryTask(nameOrOptions: string | CeleryTaskOptions = {}): MethodDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
  return SetMetadata(CELERY_TASK_METADATA, options);
}

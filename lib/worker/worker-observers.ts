import { CeleryLogger } from '../utils/logger';
import { TaskContext } from '../task/task-context';
import { TaskEvent, TaskEventName, TaskHooks } from './task-hooks';
import { WorkerMonitor } from './worker-monitor';

/**
 * Who watches the worker: monitors (Celery events, metrics, remote control) told synchronously,
 * and the app's `@OnTaskEvent()` hooks awaited. Neither can disturb the worker: failures are
 * logged. With nobody listening, telling costs nothing.
 */
export class WorkerObservers {
  private monitors: WorkerMonitor[];

  constructor(
    monitors: readonly WorkerMonitor[] | undefined,
    private readonly hooks: TaskHooks | undefined,
    private readonly logger: CeleryLogger,
  ) {
    this.monitors = [...(monitors ?? [])];
  }

  add(monitor: WorkerMonitor): void {
    this.monitors = [...this.monitors, monitor];
  }

  notify<K extends keyof WorkerMonitor>(method: K, ...args: Parameters<NonNullable<WorkerMonitor[K]>>): void {
    for (const monitor of this.monitors) {
      try {
        (monitor[method] as ((...parameters: unknown[]) => void) | undefined)?.apply(monitor, args);
      } catch (error) {
        this.logger.error(`A worker monitor failed on ${method}: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  emit(event: TaskEventName, task: TaskContext, details: Omit<TaskEvent, 'event' | 'task'> = {}): Promise<void> | undefined {
    return this.hooks?.has(event) ? this.hooks.emit({ event, task, ...details }) : undefined;
  }
}

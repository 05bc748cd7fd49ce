import { CeleryLogger } from '../utils/logger';
import { TaskContext } from '../task/task-context';
import { TaskSignal, TaskSignalName, TaskSignals } from './task-signals';
import { WorkerMonitor } from './worker-monitor';

/**
 * Who watches the worker: monitors (Celery events, metrics, remote control) told synchronously,
 * and the app's task signal handlers (`@OnTaskSignal()`) awaited. Neither can disturb the worker: failures are
 * logged. With nobody listening, telling costs nothing.
 */
export class WorkerObservers {
  private monitors: WorkerMonitor[];

  constructor(
    monitors: readonly WorkerMonitor[] | undefined,
    private readonly signals: TaskSignals | undefined,
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

  sendSignal(signal: TaskSignalName, task: TaskContext, details: Omit<TaskSignal, 'signal' | 'task'> = {}): Promise<void> | undefined {
    return this.signals?.has(signal) ? this.signals.send({ signal, task, ...details }) : undefined;
  }
}

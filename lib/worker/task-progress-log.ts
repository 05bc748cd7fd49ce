import type { RevokeReason } from '../errors/task-revoked.error';
import type { TaskMessage } from '../protocol/task-message';
import { TaskState } from '../protocol/task-states';
import type { CeleryLogger } from '../utils/logger';
import type { PartialTaskMessage, WorkerMonitor } from './worker-monitor';

/**
 * One log line per task when it is done, with its state and runtime:
 * `Task tasks.add[6f1c…] SUCCESS in 0.004s`. Celery's worker logs the same moment at INFO
 * (`Task tasks.add[…] succeeded in 0.004s: 5`); the result is left out here so a large one
 * never floods the log. Enabled by the `worker.logTasks` option (the worker CLI turns it on).
 */
export class TaskProgressLog implements WorkerMonitor {
  constructor(private readonly logger: CeleryLogger) {}

  taskSucceeded(message: TaskMessage, _result: unknown, runtimeSeconds: number): void {
    this.logger.log(`Task ${message.task}[${message.id}] ${TaskState.SUCCESS} in ${runtimeSeconds.toFixed(3)}s`);
  }

  taskFailed(message: PartialTaskMessage, error: unknown, runtimeSeconds: number | null): void {
    const runtime = runtimeSeconds === null ? 'without running' : `in ${runtimeSeconds.toFixed(3)}s`;
    this.logger.log(`Task ${message.task ?? 'unknown'}[${message.id}] ${TaskState.FAILURE} ${runtime}: ${describeError(error)}`);
  }

  taskRetried(message: TaskMessage, error: unknown): void {
    this.logger.log(`Task ${message.task}[${message.id}] ${TaskState.RETRY}: ${describeError(error)}`);
  }

  taskRevoked(message: TaskMessage, reason: RevokeReason): void {
    this.logger.log(`Task ${message.task}[${message.id}] ${TaskState.REVOKED} (${reason})`);
  }

  taskRejected(message: PartialTaskMessage | null, requeue: boolean): void {
    const label = message ? `${message.task ?? 'unknown'}[${message.id}]` : 'message';
    this.logger.log(`Task ${label} ${TaskState.REJECTED}${requeue ? ' (requeued)' : ''}`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

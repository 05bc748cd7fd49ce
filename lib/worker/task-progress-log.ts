import type { RevokeReason } from '../errors/task-revoked.error';
import { safeRepr } from '../events/safe-repr';
import { pythonFloatRepr } from '../protocol/pickle/python-float-repr';
import type { TaskMessage } from '../protocol/task-message';
import type { CeleryLogger } from '../utils/logger';
import type { PartialTaskMessage, WorkerMonitor } from './worker-monitor';

/**
 * The INFO lines Celery's worker logs per task at `-l info` (celery/app/trace.py LOG_RECEIVED,
 * LOG_SUCCESS, LOG_RETRY; celery/worker/request.py), in its words:
 *
 * - `Task tasks.add[6f1c…] received`
 * - `Task tasks.add[6f1c…] succeeded in 0.0041s: 5` (the result as Celery's `saferepr`, at most 1024 characters)
 * - `Task tasks.flaky[6f1c…] retry: Error: …`
 * - `Discarding revoked task: tasks.add[6f1c…]`
 *
 * A failure has no line here: the worker logs it at ERROR whatever the level, naming the exception
 * type (`Task tasks.fail[…] raised: TypeError: …`, settlement.ts), as Celery does. Enabled by the
 * `worker.logTasks` option; the worker CLI turns it on at `-l info` and `-l debug`.
 */
export class TaskProgressLog implements WorkerMonitor {
  constructor(private readonly logger: CeleryLogger) {}

  taskReceived(message: TaskMessage): void {
    this.logger.log(`Task ${message.task}[${message.id}] received`);
  }

  taskSucceeded(message: TaskMessage, result: unknown, runtimeSeconds: number): void {
    this.logger.log(`Task ${message.task}[${message.id}] succeeded in ${pythonFloatRepr(runtimeSeconds)}s: ${safeRepr(result)}`);
  }

  taskRetried(message: TaskMessage, error: unknown): void {
    this.logger.log(`Task ${message.task}[${message.id}] retry: ${describeError(error)}`);
  }

  /** Celery's LOG_IGNORED for `Ignore('Replaced by new task')`. */
  taskReplaced(message: TaskMessage): void {
    this.logger.log(`Task ${message.task}[${message.id}] ignored: replaced by new task`);
  }

  taskRevoked(message: TaskMessage, reason: RevokeReason): void {
    // Celery discards a revoked or expired message with this line; a running task it terminates is stored REVOKED.
    if (reason === 'terminated') this.logger.log(`Task ${message.task}[${message.id}] terminated: stored as REVOKED`);
    else this.logger.log(`Discarding revoked task: ${message.task}[${message.id}]${reason === 'expired' ? ' (expired)' : ''}`);
  }

  taskRejected(message: PartialTaskMessage | null, requeue: boolean): void {
    const label = message ? `${message.task ?? 'unknown'}[${message.id}]` : 'message';
    this.logger.log(`Task ${label} rejected${requeue ? ' (requeued)' : ''}`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

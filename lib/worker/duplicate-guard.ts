import { ResultBackend } from '../backend/result-backend.interface';
import { DuplicateGuardUnavailableError } from '../errors/duplicate-guard-unavailable.error';
import { TaskMessage } from '../protocol/task-message';
import { TaskState } from '../protocol/task-states';
import { CeleryLogger } from '../utils/logger';
import { TaskRegistry } from '../task/task-registry';

/**
 * The duplicate-delivery guard of tasks with `skipIfSucceeded` (Celery has no such option): is
 * SUCCESS already stored for this task id? Every delivery of such a task is checked, not only
 * those RabbitMQ flags as redelivered: the second copy an outbox relay publishes after a crash,
 * or a producer's own retry, arrives as a fresh message with the same task id. (Redelivered
 * acksLate messages are read back for every task, guarded or not: previous-delivery.ts.)
 */
export class DuplicateGuard {
  constructor(
    private readonly backend: ResultBackend,
    private readonly logger: CeleryLogger,
  ) {}

  /**
   * Throws DuplicateGuardUnavailableError (at worker start) when a task wants the guard but the
   * backend cannot be read back (its capabilities say so): rpc:// sends results to the caller's
   * queue, and none stores nothing.
   */
  assertUsable(registry: TaskRegistry): void {
    if (this.backend.capabilities.readsBack) return;
    const guarded = registry.names().filter((name) => registry.get(name)?.options.skipIfSucceeded);
    if (guarded.length > 0) throw new DuplicateGuardUnavailableError(guarded, this.backend.description);
  }

  /**
   * True when SUCCESS is stored for the message's task id. A lookup that fails (database down) is
   * logged and answers false: the task runs, as it would without the guard (at least once).
   */
  async alreadySucceeded(message: TaskMessage): Promise<boolean> {
    try {
      return (await this.backend.getResult(message.id))?.status === TaskState.SUCCESS;
    } catch (error) {
      this.logger.warn(`Could not check whether task ${message.task}[${message.id}] already succeeded, running it: ${(error as Error).message}`);
      return false;
    }
  }
}

import { ResultBackend } from '../backend/result-backend.interface';
import { READY_STATES, TaskState } from '../protocol/task-states';
import { TaskMessage } from '../protocol/task-message';
import { CeleryLogger } from '../utils/logger';

/**
 * What became of an earlier delivery of a redelivered acksLate message, from the task's stored
 * state:
 * - `done`: it finished and its outcome is stored (a ready state); only its ack was lost with its
 *   channel (a broker restart, a dropped connection). Running it again would run the task twice.
 * - `lost`: it began (STARTED) and never finished: the worker running it was lost.
 * - `unknown`: nothing says it ran (handed back before it started), or the backend cannot answer.
 */
export type PreviousDelivery = { kind: 'done'; state: string } | { kind: 'lost'; worker: string | null } | { kind: 'unknown' };

/**
 * Reads the task's state once. When the backend cannot answer the task is run: running a task
 * again is better than losing one.
 */
export async function previousDelivery(backend: ResultBackend, message: TaskMessage, logger: CeleryLogger): Promise<PreviousDelivery> {
  // rpc:// and no backend keep nothing a worker can read back: nothing says the task ran.
  if (!backend.capabilities.readsBack) return { kind: 'unknown' };
  let stored;
  try {
    stored = await backend.getResult(message.id);
  } catch (error) {
    logger.warn(`Could not read the state of redelivered task ${message.task}[${message.id}] (${(error as Error).message}); running it`);
    return { kind: 'unknown' };
  }
  if (!stored) return { kind: 'unknown' };
  if (READY_STATES.has(stored.status)) return { kind: 'done', state: stored.status };
  // RETRY is not done: it is stored before the next try is sent (celery-worker.ts retry()), so a
  // delivery lost in between may have sent nothing. Running this try again may retry twice; not
  // running it could lose the task.
  if (stored.status === TaskState.STARTED) {
    const startedBy = (stored.result as { hostname?: unknown } | null)?.hostname;
    return { kind: 'lost', worker: typeof startedBy === 'string' ? startedBy : (stored.worker ?? null) };
  }
  return { kind: 'unknown' };
}

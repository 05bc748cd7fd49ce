import { ResultBackend } from '../backend/result-backend.interface';
import { TaskState } from '../protocol/task-states';
import { CeleryLogger } from '../utils/logger';

/** A run of the task that began on a worker that was lost: the node name stored with its STARTED state. */
export interface LostRun {
  worker: string | null;
}

/**
 * Whether a redelivered acksLate message was being run by a worker that was lost: its task is
 * stored STARTED (the run began) and not finished. A message handed back before it started
 * (warm shutdown, connection loss while prefetched) has no STARTED state, so it is not taken for
 * one. When the backend cannot answer, the run is not called lost: running a task again is
 * better than failing one that may never have started.
 */
export async function findLostRun(backend: ResultBackend, taskId: string, logger: CeleryLogger): Promise<LostRun | null> {
  let stored;
  try {
    stored = await backend.getResult(taskId);
  } catch (error) {
    logger.warn(`Could not read the state of redelivered task ${taskId} (${(error as Error).message}); running it`);
    return null;
  }
  if (stored?.status !== TaskState.STARTED) return null;
  const startedBy = (stored.result as { hostname?: unknown } | null)?.hostname;
  return { worker: typeof startedBy === 'string' ? startedBy : (stored.worker ?? null) };
}

import type { ResultBackend } from '../backend/result-backend.interface';
import type { TaskDefinition } from '../task/task-definition';
import type { CeleryLogger } from '../utils/logger';

export const BACKEND_CLEANUP_TASK = 'celery.backend_cleanup';

/** Celery's default `result_expires`: one day. */
const DEFAULT_RESULT_EXPIRES_SECONDS = 86_400;

/**
 * Celery's built-in `celery.backend_cleanup` (celery/app/builtins.py): deletes the results that
 * expired (`result_expires`, default one day; null: never). Python's beat sends it every day at
 * 4:00 when the backend needs it, to whichever worker consumes the default queue: this one too.
 */
export function backendCleanupTask(backend: ResultBackend, resultExpiresSeconds: number | null | undefined, logger: CeleryLogger): TaskDefinition {
  const expires = resultExpiresSeconds === undefined ? DEFAULT_RESULT_EXPIRES_SECONDS : resultExpiresSeconds;
  return {
    name: BACKEND_CLEANUP_TASK,
    options: {},
    source: `nestjs-celery built-in ${BACKEND_CLEANUP_TASK}`,
    prepare: () => async () => {
      if (expires === null || expires <= 0) return null;
      const deleted = await backend.deleteExpired(new Date(Date.now() - expires * 1000));
      if (deleted > 0) logger.log(`${BACKEND_CLEANUP_TASK}: deleted ${deleted} expired result(s) from ${backend.description}`);
      return null;
    },
  };
}

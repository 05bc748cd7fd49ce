import type { ResultBackend } from '../backend/result-backend.interface';
import { TaskState } from '../protocol/task-states';
import { maskSecretsInText } from '../utils/mask-secrets';

/** A running task's reported progress, as the dashboard draws it. */
export interface RunningTaskProgress {
  /** The custom state it reported, e.g. PROGRESS. */
  state: string;
  /** 0–100 when the meta says (celery-progress's `percent`, or `current` / `total`); null otherwise. */
  percent: number | null;
  /** The meta's `description`, secrets masked; null without one. */
  description: string | null;
}

/** Most running tasks read per refresh: one indexed read each, however many tasks run. */
const MAX_TASKS_READ = 100;

const CELERY_STATES: ReadonlySet<string> = new Set(Object.values(TaskState));

/**
 * Reads the progress of running tasks from the result backend. Celery sends no event for
 * `update_state`, so events cannot carry it; a custom `task-progress` event was the other way,
 * but Python tasks reporting through celery-progress send none, and Flower would take its type
 * for the task's state. The backend has both ours and Python's, and costs nothing while no
 * dashboard is open. Backends that do not read back (rpc://: replies reach only the sender)
 * have none to give.
 */
export async function readRunningTaskProgress(backend: ResultBackend, runningTaskIds: readonly string[]): Promise<Record<string, RunningTaskProgress>> {
  if (!backend.capabilities.readsBack || runningTaskIds.length === 0) return {};
  const ids = runningTaskIds.slice(0, MAX_TASKS_READ);
  const metas = await Promise.all(ids.map((id) => backend.getResult(id).catch(() => null)));
  const progress: Record<string, RunningTaskProgress> = {};
  metas.forEach((meta, index) => {
    if (meta && !CELERY_STATES.has(meta.status)) progress[ids[index]] = describe(meta.status, meta.result);
  });
  return progress;
}

function describe(state: string, meta: unknown): RunningTaskProgress {
  const fields = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  const { percent, current, total, description } = fields;
  const computed = typeof percent === 'number' ? percent : typeof current === 'number' && typeof total === 'number' && total > 0 ? (current / total) * 100 : null;
  return {
    state,
    percent: computed === null || !Number.isFinite(computed) ? null : Math.min(100, Math.max(0, Math.round(computed * 100) / 100)),
    description: typeof description === 'string' ? maskSecretsInText(description) : null,
  };
}

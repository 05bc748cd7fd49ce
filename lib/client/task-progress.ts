import type { ResultBackend } from '../backend/result-backend.interface';
import { ResultTimeoutError } from '../errors/result-timeout.error';
import { toPythonJson } from '../protocol/python-json';
import type { TaskResultMeta } from '../protocol/result-meta';
import { READY_STATES, TaskState, TaskStateName } from '../protocol/task-states';

/**
 * A task's state and what was stored with it: Celery's `AsyncResult.state` and `.info`. While a
 * task reports progress (`updateState`, `setProgress`, Python's `update_state`) that is its
 * custom state (PROGRESS) and meta; before anything is stored, PENDING and null; once done, the
 * final state and its result (an ExceptionInfo for FAILURE and REVOKED).
 */
export interface TaskProgress {
  state: TaskStateName;
  meta: unknown;
}

export interface WatchOptions {
  /** Milliseconds; the iteration rejects with ResultTimeoutError when the task is not done by then. Default: no limit. */
  timeout?: number;
  /** Ends the iteration: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * How long a wait may last without a word from the backend: only a safety net (writes wake
 * waits at once), growing while nothing changes so a long task costs few reads.
 */
const SAFETY_NET = { initialMs: 100, maxMs: 2_000 };

/** The progress a stored meta gives (null: nothing stored, PENDING). */
export function progressOf(meta: TaskResultMeta | null): TaskProgress {
  return meta === null ? { state: TaskState.PENDING, meta: null } : { state: meta.status, meta: meta.result };
}

/**
 * Each state of the task as it is stored: the current one first, then every change (another
 * state, or the same state with other meta), until a ready state, which is the last. Between
 * reads it waits on the backend's change source (LISTEN/NOTIFY, Redis pub/sub, rpc:// replies),
 * not on a poll interval.
 */
export async function* watchTaskProgress(backend: ResultBackend, taskId: string, options: WatchOptions = {}): AsyncGenerator<TaskProgress, void, undefined> {
  const { timeout, signal } = options;
  const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
  let lastSeen: string | null = null;
  let pauseMs = SAFETY_NET.initialMs;
  for (;;) {
    signal?.throwIfAborted();
    const meta = await backend.getResult(taskId);
    const progress = progressOf(meta);
    const seen = fingerprint(progress);
    if (seen !== lastSeen) {
      lastSeen = seen;
      pauseMs = SAFETY_NET.initialMs;
      yield progress;
    }
    if (READY_STATES.has(progress.state)) return;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new ResultTimeoutError(taskId, timeout ?? 0, progress.state);
    await backend.waitForChange(taskId, Math.min(pauseMs, remainingMs), signal);
    pauseMs = Math.min(pauseMs * 2, SAFETY_NET.maxMs);
  }
}

/** What tells two readings apart; a meta with no JSON form counts as changed every time. */
function fingerprint(progress: TaskProgress): string {
  try {
    return `${progress.state}\u0000${toPythonJson(progress.meta)}`;
  } catch {
    return `${progress.state}\u0000${Math.random()}`;
  }
}

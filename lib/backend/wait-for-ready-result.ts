import { ResultTimeoutError } from '../errors/result-timeout.error';
import { TaskResultMeta } from '../protocol/result-meta';
import { READY_STATES, TaskState } from '../protocol/task-states';
import { WaitOptions } from './result-backend.interface';
import { ResultChangeSource, ResultWatch } from './result-change-source';

/** `null`: nothing stored yet (PENDING). `undefined`: could not read this time; keep waiting. */
export type ReadResultForWait = (taskId: string) => Promise<TaskResultMeta | null | undefined>;

/** First and longest pause between reads: quick tasks answer fast, slow ones cost few queries. */
export interface WaitBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Reads the task's result until it is in a ready state (SUCCESS, FAILURE, REVOKED), pausing
 * between reads with an exponential backoff (Celery's `AsyncResult.get(interval=…)` polls at a
 * fixed interval instead). A change source that pushes the states themselves (`watch`) spares the
 * reads: the state it hands over is used as read. Throws ResultTimeoutError after `timeout` ms,
 * and the signal's reason when it aborts.
 */
export async function waitForReadyResult(
  taskId: string,
  read: ReadResultForWait,
  changes: ResultChangeSource,
  backoff: WaitBackoff,
  options: WaitOptions = {},
): Promise<TaskResultMeta> {
  const { timeout, signal } = options;
  signal?.throwIfAborted();
  const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeout;
  // Opened before the first read: a push source subscribes while that read is on its way.
  const watch = changes.watch?.(taskId) ?? pollingWatch(changes, taskId);
  try {
    let delayMs = backoff.initialDelayMs;
    let lastState: string = TaskState.PENDING;
    let meta = await read(taskId);
    for (;;) {
      signal?.throwIfAborted();
      if (meta) {
        if (READY_STATES.has(meta.status)) return meta;
        lastState = meta.status;
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new ResultTimeoutError(taskId, timeout ?? 0, lastState);
      meta = (await watch.next(Math.min(delayMs, remainingMs), signal)) ?? (await read(taskId));
      delayMs = Math.min(delayMs * 2, backoff.maxDelayMs);
    }
  } finally {
    watch.close();
  }
}

/** A source that only says when to read again: every state is read. */
function pollingWatch(changes: ResultChangeSource, taskId: string): ResultWatch {
  return {
    next: async (maxWaitMs, signal) => {
      await changes.waitForChange(taskId, maxWaitMs, signal);
      return undefined;
    },
    close: () => undefined,
  };
}

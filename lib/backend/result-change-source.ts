/**
 * Tells `waitForReadyResult` when to read a task's result again. Polling sleeps; a backend that
 * can be told about writes (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) resolves early instead, and
 * plugs in here without touching the wait loop.
 */
export interface ResultChangeSource {
  /**
   * Resolves when the task's stored result may have changed, or after `maxWaitMs` at the latest.
   * Rejects with `signal.reason` when the signal aborts.
   */
  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void>;
}

/** Knows nothing about writes: just waits the time the wait loop asks for. */
export const POLLING_CHANGE_SOURCE: ResultChangeSource = {
  waitForChange: (_taskId, maxWaitMs, signal) => sleep(maxWaitMs, signal),
};

/** A pause that an AbortSignal can cut short (rejecting with its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

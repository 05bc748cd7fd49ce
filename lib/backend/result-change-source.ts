import type { TaskResultMeta } from '../protocol/result-meta';

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
  /**
   * For a source whose notices carry the stored state (Redis PUBLISHes the meta it stores):
   * starts listening for one task's states before its first read, so the wait needs no read
   * after the state it was waiting for arrives.
   */
  watch?(taskId: string): ResultWatch;
}

/** One wait's view of a task's stored states, opened before the first read and closed after the last. */
export interface ResultWatch {
  /**
   * The next state stored for the task, or `undefined` when the caller should read it instead:
   * `maxWaitMs` passed, or the listening has just begun (a store between the first read and that
   * moment was not seen). Rejects with `signal.reason` when the signal aborts.
   */
  next(maxWaitMs: number, signal?: AbortSignal): Promise<TaskResultMeta | undefined>;
  close(): void;
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

import { ResultChangeSource } from '../result-change-source';

/**
 * A ResultChangeSource that is told about new states (the rpc:// consumer calls `notify` for
 * each reply), so `waitForReadyResult` wakes up when a reply arrives instead of polling.
 */
export class TaskChangeNotifier implements ResultChangeSource {
  private readonly waiters = new Map<string, Set<() => void>>();

  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.remove(taskId, wake);
        outcome();
      };
      const wake = () => settle(resolve);
      const onAbort = () => settle(() => reject(signal!.reason));
      const timer = setTimeout(wake, maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.add(taskId, wake);
    });
  }

  /** Wakes everyone waiting on the task. */
  notify(taskId: string): void {
    const waiting = this.waiters.get(taskId);
    if (waiting) for (const wake of [...waiting]) wake();
  }

  /** Wakes every waiter (on close, so they see the backend is gone at once). */
  notifyAll(): void {
    for (const taskId of [...this.waiters.keys()]) this.notify(taskId);
  }

  /** How many waits are in progress, over all tasks. */
  get waiting(): number {
    let count = 0;
    for (const waiting of this.waiters.values()) count += waiting.size;
    return count;
  }

  private add(taskId: string, wake: () => void): void {
    const waiting = this.waiters.get(taskId);
    if (waiting) waiting.add(wake);
    else this.waiters.set(taskId, new Set([wake]));
  }

  private remove(taskId: string, wake: () => void): void {
    const waiting = this.waiters.get(taskId);
    if (!waiting) return;
    waiting.delete(wake);
    if (waiting.size === 0) this.waiters.delete(taskId);
  }
}

import { ResultChangeSource } from '../result-change-source';
import { KeyedTable } from '../../utils/keyed-table';

/**
 * A ResultChangeSource that is told about new states (the rpc:// consumer calls `notify` for
 * each reply), so `waitForReadyResult` wakes up when a reply arrives instead of polling.
 */
export class TaskChangeNotifier implements ResultChangeSource {
  /**
   * The wake-ups of the waits in progress, by task id (mostly one per task). A KeyedTable, not a
   * Map: a set and delete per `get()` made V8 chain the Map's obsolete tables and, through each
   * wake-up's promise, the whole waiting `get()` into old space (lib/utils/keyed-table.ts).
   */
  private readonly waiters = new KeyedTable<(() => void)[]>();

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
    for (const taskId of this.waiters.keys()) this.notify(taskId);
  }

  /** How many waits are in progress, over all tasks. */
  get waiting(): number {
    let count = 0;
    for (const taskId of this.waiters.keys()) count += this.waiters.get(taskId)!.length;
    return count;
  }

  private add(taskId: string, wake: () => void): void {
    const waiting = this.waiters.get(taskId);
    if (waiting) waiting.push(wake);
    else this.waiters.set(taskId, [wake]);
  }

  private remove(taskId: string, wake: () => void): void {
    const waiting = this.waiters.get(taskId);
    if (!waiting) return;
    const index = waiting.indexOf(wake);
    if (index >= 0) waiting.splice(index, 1);
    if (waiting.length === 0) this.waiters.delete(taskId);
  }
}

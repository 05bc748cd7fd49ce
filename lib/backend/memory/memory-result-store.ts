import type { SavedGroup } from '../group-result-store.interface';
import type { ResultChangeSource } from '../result-change-source';

/** What a memory:// result URL holds in this process. */
export interface MemoryResultStore {
  /** Task id → the stored JSON meta, and when it was done (for expiry). */
  readonly results: Map<string, { text: string; dateDone: Date | null }>;
  readonly groups: Map<string, SavedGroup>;
  readonly chords: Map<string, { headerIds: string[]; counted: Set<string> }>;
  readonly revoked: Map<string, Date>;
  readonly changes: MemoryResultChanges;
}

/** Wakes the waits on a task as soon as one of its states is stored. */
export class MemoryResultChanges implements ResultChangeSource {
  private readonly waiters = new Map<string, Set<() => void>>();

  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(taskId);
        set?.delete(done);
        if (set?.size === 0) this.waiters.delete(taskId);
      };
      const wake = () => {
        done();
        resolve();
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      const timer = setTimeout(wake, maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const set = this.waiters.get(taskId) ?? new Set();
      set.add(wake);
      this.waiters.set(taskId, set);
    });
  }

  notify(taskId: string): void {
    for (const wake of [...(this.waiters.get(taskId) ?? [])]) wake();
  }
}

const stores = new Map<string, MemoryResultStore>();

/** The process-wide store behind a memory:// result URL: backends of the same URL share it. */
export function sharedMemoryResultStore(url: string): MemoryResultStore {
  const key = storeKey(url);
  let store = stores.get(key);
  if (!store) {
    store = { results: new Map(), groups: new Map(), chords: new Map(), revoked: new Map(), changes: new MemoryResultChanges() };
    stores.set(key, store);
  }
  return store;
}

/** Forgets the results a memory:// URL holds in this process (for an owner that made the URL its own, once closed). */
export function forgetMemoryResultStore(url: string): void {
  stores.delete(storeKey(url));
}

function storeKey(url: string): string {
  return url.toLowerCase().replace(/^cache\+/, '').replace(/\/+$/, '');
}

import type { TaskResultMeta } from '../../protocol/result-meta';
import { READY_STATES, TaskState } from '../../protocol/task-states';
import type { BackendCapabilities } from '../backend-capabilities';
import type { ChordCounterStore } from '../chord-counter-store.interface';
import { encodeResult } from '../encode-result';
import type { GroupResultStore, SavedGroup } from '../group-result-store.interface';
import { decodeRedisResultMeta, encodeRedisResultMeta } from '../redis/redis-result-meta';
import type { ResultBackend, WaitOptions } from '../result-backend.interface';
import type { RevokedTaskStore } from '../revoked-task-store.interface';
import { waitForReadyResult } from '../wait-for-ready-result';
import { MemoryResultStore, sharedMemoryResultStore } from './memory-result-store';

/** Writes wake waiters at once; the wait loop looks again this often regardless. */
const WAIT_BACKOFF = { initialDelayMs: 1_000, maxDelayMs: 1_000 };

/**
 * Results kept in this process (Celery's `cache+memory://` backend): for tests, the demo and
 * single-process apps; gone when the process ends. Backends created from the same URL share one
 * store, as brokers do on memory://, so a producer and a worker in one process meet.
 *
 * Each state goes through the JSON Celery's key-value backends store, so what reads back is what
 * PostgreSQL or Redis would give, and a value with no stored form fails the task as it would
 * there. It does all a shared store can: read back, count chords, save groups, keep revokes.
 */
export class MemoryResultBackend implements ResultBackend, ChordCounterStore, GroupResultStore, RevokedTaskStore {
  readonly description: string;
  readonly capabilities: BackendCapabilities = { readsBack: true, chordCounter: this, groupStore: this, revokedStore: this };
  private readonly store: MemoryResultStore;

  constructor(url = 'memory://') {
    this.description = url;
    this.store = sharedMemoryResultStore(url);
  }

  async connect(): Promise<void> {}

  async storeResult(meta: TaskResultMeta): Promise<void> {
    const encoded = encodeResult(meta, () => encodeRedisResultMeta(meta, true));
    const current = this.store.results.get(meta.taskId);
    // As Celery's key-value backends: a stored SUCCESS is never overwritten by a redelivered run.
    if (current !== undefined && decodeRedisResultMeta(meta.taskId, current.text).status === TaskState.SUCCESS) return;
    this.store.results.set(meta.taskId, { text: encoded, dateDone: meta.dateDone });
    this.store.changes.notify(meta.taskId);
  }

  async getResult(taskId: string): Promise<TaskResultMeta | null> {
    const stored = this.store.results.get(taskId);
    return stored === undefined ? null : decodeRedisResultMeta(taskId, stored.text);
  }

  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta> {
    return waitForReadyResult(taskId, (id) => this.getResult(id), this.store.changes, WAIT_BACKOFF, options);
  }

  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return this.store.changes.waitForChange(taskId, maxWaitMs, signal);
  }

  async forget(taskId: string): Promise<void> {
    this.store.results.delete(taskId);
  }

  async deleteExpired(olderThan: Date): Promise<number> {
    let deleted = 0;
    for (const [taskId, stored] of this.store.results) {
      if (stored.dateDone && stored.dateDone < olderThan) {
        this.store.results.delete(taskId);
        deleted++;
      }
    }
    return deleted;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  async createChordCounter(groupId: string, headerIds: readonly string[]): Promise<void> {
    this.store.chords.set(groupId, { headerIds: [...headerIds], counted: new Set() });
  }

  async countChordPart(groupId: string, taskId: string): Promise<string[] | null> {
    const chord = this.store.chords.get(groupId);
    if (!chord || chord.counted.has(taskId)) return null;
    chord.counted.add(taskId);
    return chord.counted.size === chord.headerIds.length ? chord.headerIds : null;
  }

  async deleteChordCounter(groupId: string): Promise<void> {
    this.store.chords.delete(groupId);
  }

  async getResults(taskIds: readonly string[]): Promise<(TaskResultMeta | null)[]> {
    return Promise.all(taskIds.map((id) => this.getResult(id)));
  }

  async saveGroup(groupId: string, childIds: readonly string[]): Promise<void> {
    this.store.groups.set(groupId, { groupId, childIds: [...childIds], dateDone: new Date() });
  }

  async getGroup(groupId: string): Promise<SavedGroup | null> {
    return this.store.groups.get(groupId) ?? null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    this.store.groups.delete(groupId);
  }

  async loadRevoked(since: Date): Promise<string[]> {
    return [...this.store.revoked].filter(([, at]) => at >= since).map(([id]) => id);
  }

  async saveRevoked(ids: readonly string[], at: Date): Promise<void> {
    for (const id of ids) this.store.revoked.set(id, at);
  }

  /** Ready results held now (tests look at it). */
  get readyCount(): number {
    let count = 0;
    for (const [taskId, stored] of this.store.results) if (READY_STATES.has(decodeRedisResultMeta(taskId, stored.text).status)) count++;
    return count;
  }
}

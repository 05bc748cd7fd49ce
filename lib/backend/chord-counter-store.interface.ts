import { TaskResultMeta } from '../protocol/result-meta';

/**
 * Backends that join chords themselves, without Celery's polling `celery.chord_unlock`: an
 * atomic counter per chord, so exactly one finishing header task (on whatever worker process)
 * learns that it completed the header and publishes the body. Celery's Redis backend does the
 * same with INCR; Celery's database backend cannot, and falls back to `chord_unlock`.
 */
export interface ChordCounterStore {
  /** Starts counting a chord before its header is published; `headerIds` in header order. */
  createChordCounter(groupId: string, headerIds: readonly string[]): Promise<void>;
  /**
   * Counts one finished header task, once per task id (a redelivered task is not counted twice).
   * Returns the header ids, in order, to the one call that completed the chord; null otherwise,
   * and for a chord this store does not count (one joined by `celery.chord_unlock`).
   * `groupIndex` is the task's position in the header (its `group_index`), for stores that
   * order parts by it (Celery's Redis backend).
   */
  countChordPart(groupId: string, taskId: string, groupIndex?: number | null): Promise<string[] | null>;
  /** Forgets a completed chord's counter. */
  deleteChordCounter(groupId: string): Promise<void>;
  /** The stored results of many tasks in one read, in the order of `taskIds` (null: PENDING). */
  getResults(taskIds: readonly string[]): Promise<(TaskResultMeta | null)[]>;
}

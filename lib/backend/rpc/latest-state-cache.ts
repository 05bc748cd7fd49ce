import { TaskResultMeta } from '../../protocol/result-meta';
import { READY_STATES } from '../../protocol/task-states';
import { RecencyTable } from '../../utils/recency-table';

/**
 * The latest state the rpc:// client has received for each task, including tasks nobody has
 * asked about yet (Celery buffers those too: a reply may arrive before `get()` is called).
 * Bounded: past `maxEntries`, the least recently updated task is dropped, so a process that sends
 * many tasks and never reads their results does not grow without end.
 */
export class LatestStateCache {
  /**
   * Not a Map in insertion order: a delete and set per reply made V8 chain the Map's obsolete
   * tables, and every state (results included) they held, into old space (RecencyTable says why).
   */
  private readonly states: RecencyTable<TaskResultMeta>;

  constructor(maxEntries: number) {
    this.states = new RecencyTable(maxEntries);
  }

  get size(): number {
    return this.states.size;
  }

  get(taskId: string): TaskResultMeta | undefined {
    return this.states.get(taskId);
  }

  /**
   * Records a state unless it would hide a ready one. Replies for one task can come from
   * different workers (a retried task runs again elsewhere), so a late RETRY or STARTED may
   * arrive after SUCCESS; Celery's AsyncResult likewise keeps the ready state it has.
   * Returns whether the state was recorded.
   */
  record(meta: TaskResultMeta): boolean {
    const known = this.states.get(meta.taskId);
    if (known && READY_STATES.has(known.status) && !READY_STATES.has(meta.status)) return false;
    this.states.set(meta.taskId, meta);
    return true;
  }

  forget(taskId: string): void {
    this.states.delete(taskId);
  }

  clear(): void {
    this.states.clear();
  }
}

import type { ResultBackend } from '../../backend/result-backend.interface';
import type { GroupResultStore } from '../../backend/group-result-store.interface';
import { AsyncResult, GetResultOptions } from '../async-result';
import { GroupResultUnsupportedError } from '../../errors/group-result-unsupported.error';

/** Where restore() finds the backend: the injected CeleryClient, or a result backend. */
export type ResultBackendSource = { readonly resultBackend: ResultBackend } | ResultBackend;

/**
 * The results of a group's tasks, in the group's order (Celery's `GroupResult`). Nothing is
 * stored for the group itself unless save() is called; each member's result is its own.
 */
export class GroupResult<TResult = unknown> {
  /** The step before the group in a workflow (Celery's `.parent`), or null. */
  parent: { readonly id: string; get(options?: GetResultOptions): Promise<unknown> } | null = null;

  constructor(
    readonly id: string,
    readonly results: AsyncResult<TResult>[],
    private readonly backend: ResultBackend,
  ) {}

  /** Every member's value, in the group's order (Celery's `join()` / `get()`); rejects with the first failure. */
  get(options: GetResultOptions = {}): Promise<TResult[]> {
    return Promise.all(this.results.map((result) => result.get(options)));
  }

  /** The group's members (Celery's `GroupResult.children`): what `collect()` follows into. */
  async children(): Promise<AsyncResult<TResult>[]> {
    return this.results;
  }

  /** How many members succeeded (Celery's `completed_count()`). */
  async completedCount(): Promise<number> {
    const states = await Promise.all(this.results.map((result) => result.successful()));
    return states.filter(Boolean).length;
  }

  /** True when every member has finished, whatever the outcome (Celery's `ready()`). */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.ready()))).every(Boolean);
  }

  /** True when every member succeeded (Celery's `successful()`). */
  async successful(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.successful()))).every(Boolean);
  }

  /** True when any member failed (Celery's `failed()`). */
  async failed(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.failed()))).some(Boolean);
  }

  /**
   * Stores the group (Celery's `GroupResult.save()`): with the database backend, a pickled
   * `celery.result.GroupResult` in `celery_tasksetmeta`, which Python's `GroupResult.restore(id)` loads.
   */
  async save(): Promise<void> {
    await groupStoreOf(this.backend).saveGroup(this.id, this.results.map((result) => result.id));
  }

  /** Deletes the saved group; the members' results stay (Celery's `GroupResult.delete()`). */
  async delete(): Promise<void> {
    await groupStoreOf(this.backend).forgetGroup(this.id);
  }

  /** A group saved by us or by Python's `GroupResult.save()`, or null (Celery's `GroupResult.restore(id)`). */
  static async restore<TResult = unknown>(groupId: string, source: ResultBackendSource): Promise<GroupResult<TResult> | null> {
    const backend = 'resultBackend' in source ? source.resultBackend : source;
    const saved = await groupStoreOf(backend).getGroup(groupId);
    if (!saved) return null;
    return new GroupResult<TResult>(groupId, saved.childIds.map((id) => new AsyncResult<TResult>(id, backend)), backend);
  }

  toString(): string {
    return this.id;
  }
}

function groupStoreOf(backend: ResultBackend): GroupResultStore {
  const store = backend.capabilities.groupStore;
  if (!store) throw new GroupResultUnsupportedError(backend.description);
  return store;
}

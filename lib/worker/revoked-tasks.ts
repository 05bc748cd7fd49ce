import type { RevokedTaskStore } from '../backend/revoked-task-store.interface';

/** Celery's limits on the revoked set (celery/worker/state.py): 50 000 ids, each for 3 hours. */
export const REVOKED_LIMITS = { maxIds: 50_000, keepSeconds: 10_800 } as const;

/**
 * The ids this worker must not run (Celery's `worker.state.revoked`, a LimitedSet): bounded in
 * size and age, loaded from and saved to a store when there is one.
 */
export class RevokedTasks {
  private readonly revokedAt = new Map<string, number>();

  constructor(private readonly store?: RevokedTaskStore) {}

  get persistent(): boolean {
    return this.store !== undefined;
  }

  async load(now = Date.now()): Promise<void> {
    if (!this.store) return;
    const since = new Date(now - REVOKED_LIMITS.keepSeconds * 1000);
    for (const id of await this.store.loadRevoked(since)) this.remember(id, now);
  }

  async add(ids: readonly string[], now = Date.now()): Promise<void> {
    for (const id of ids) this.remember(id, now);
    await this.store?.saveRevoked(ids, new Date(now));
  }

  has(id: string, now = Date.now()): boolean {
    const at = this.revokedAt.get(id);
    if (at === undefined) return false;
    if (now - at <= REVOKED_LIMITS.keepSeconds * 1000) return true;
    this.revokedAt.delete(id);
    return false;
  }

  ids(): string[] {
    return [...this.revokedAt.keys()].filter((id) => this.has(id));
  }

  private remember(id: string, at: number): void {
    this.revokedAt.delete(id); // re-inserted last: Map order is the age order
    this.revokedAt.set(id, at);
    if (this.revokedAt.size > REVOKED_LIMITS.maxIds) this.revokedAt.delete(this.revokedAt.keys().next().value!);
  }
}

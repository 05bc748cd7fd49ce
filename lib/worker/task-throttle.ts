import { parseRateLimit, TokenBucket } from '../task/rate-limit';

/**
 * Per-task rate limits of one worker (Celery's `rate_limit`): a task over its rate waits here,
 * in order, without taking a run slot, and is released when its bucket has a token again.
 * Tasks without a limit pass straight through. Limits can change while running.
 */
export class TaskThrottle<T> {
  private readonly buckets = new Map<string, TokenBucket | null>();
  private readonly held = new Map<string, { items: T[]; timer: NodeJS.Timeout | null }>();
  /** Limits set at run time (the `rate_limit` control command), over the tasks' own. */
  private readonly overrides = new Map<string, string | number | null>();

  constructor(private readonly release: (item: T) => void) {}

  /** True when the item may run now; otherwise it is held and released later. */
  admit(taskName: string, ownLimit: string | number | undefined, item: T): boolean {
    const bucket = this.bucketFor(taskName, ownLimit);
    if (!bucket) return true;
    const waiting = this.held.get(taskName);
    if (!waiting?.items.length && bucket.take()) return true;
    const entry = waiting ?? { items: [], timer: null };
    entry.items.push(item);
    this.held.set(taskName, entry);
    this.arm(taskName, bucket, entry);
    return false;
  }

  /** Changes a task's limit now (null or 0: none). Throws InvalidRateLimitError for bad syntax. */
  setLimit(taskName: string, limit: string | number | null): void {
    const perSecond = parseRateLimit(limit);
    this.overrides.set(taskName, limit);
    this.buckets.set(taskName, perSecond === null ? null : new TokenBucket(perSecond));
    const entry = this.held.get(taskName);
    if (entry) this.flush(taskName, entry);
  }

  /** The current limit of a task, as set (for `inspect registered` / stats). */
  limitOf(taskName: string, ownLimit: string | number | undefined): string | number | null {
    return this.overrides.has(taskName) ? this.overrides.get(taskName)! : (ownLimit ?? null);
  }

  /** Everything held, in order. */
  heldItems(): T[] {
    return [...this.held.values()].flatMap((entry) => entry.items);
  }

  /** Stops every timer and hands back what was held (worker shutdown). */
  drain(): T[] {
    const items = this.heldItems();
    for (const entry of this.held.values()) if (entry.timer) clearTimeout(entry.timer);
    this.held.clear();
    return items;
  }

  private bucketFor(taskName: string, ownLimit: string | number | undefined): TokenBucket | null {
    let bucket = this.buckets.get(taskName);
    if (bucket === undefined) {
      const perSecond = parseRateLimit(this.overrides.has(taskName) ? this.overrides.get(taskName) : ownLimit);
      bucket = perSecond === null ? null : new TokenBucket(perSecond);
      this.buckets.set(taskName, bucket);
    }
    return bucket;
  }

  private arm(taskName: string, bucket: TokenBucket, entry: { items: T[]; timer: NodeJS.Timeout | null }): void {
    if (entry.timer) return;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.flush(taskName, entry);
    }, bucket.waitMs());
  }

  private flush(taskName: string, entry: { items: T[]; timer: NodeJS.Timeout | null }): void {
    const bucket = this.buckets.get(taskName);
    if (entry.timer) {
      clearTimeout(entry.timer);
      entry.timer = null;
    }
    while (entry.items.length > 0 && (!bucket || bucket.take())) this.release(entry.items.shift()!);
    if (entry.items.length === 0) this.held.delete(taskName);
    else if (bucket) this.arm(taskName, bucket, entry);
  }
}

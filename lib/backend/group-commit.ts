/**
 * Writes one batch of items; resolves with one outcome per item, in order: undefined when it was
 * written, the error otherwise. A rejection fails every item of the batch with that error.
 */
export type WriteBatch<Item> = (items: Item[]) => Promise<(unknown | undefined)[]>;

interface Waiter<Item> {
  item: Item;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit: `add()` queues an item and resolves once the batch holding it is written. One
 * batch is written at a time; items added meanwhile wait and go together in the next one, so
 * under load many writes share one statement and one commit, and when idle a write goes out on
 * the next turn of the event loop (no timer adds latency). Celery's database backend writes one
 * row per transaction instead; there is no Celery option for this.
 */
export class GroupCommit<Item> {
  private waiting: Waiter<Item>[] = [];
  private writing = false;
  private scheduled = false;
  /** Callers of `idle()` waiting for the last batch to be written. */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly write: WriteBatch<Item>,
    private readonly maxBatchSize: number,
  ) {}

  add(item: Item): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves once every item added so far is settled (written or failed, retries included), so a
   * closing owner cuts none off. Items added meanwhile are waited for too.
   */
  idle(): Promise<void> {
    if (!this.writing && !this.scheduled && this.waiting.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Items queued and not yet written. */
  get size(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a timer: writes made in the same turn (a prefetch window finishing) join.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatchSize);
        await this.writeBatch(batch);
      }
    } finally {
      this.writing = false;
    }
    // Items added while writing were taken by the loop above: every item added so far is settled.
    if (this.waiting.length === 0 && !this.scheduled) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async writeBatch(batch: Waiter<Item>[]): Promise<void> {
    let outcomes: (unknown | undefined)[];
    try {
      outcomes = await this.write(batch.map((waiter) => waiter.item));
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    batch.forEach((waiter, index) => {
      const error = outcomes[index];
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    });
  }
}

import { CeleryLogger } from '../utils/logger';

/** What the scheduler needs from a backend. */
export interface ExpiringResultStore {
  readonly description: string;
  deleteExpired(olderThan: Date): Promise<number>;
}

/**
 * Deletes expired results on a timer: what `celery beat` does with its daily
 * `celery.backend_cleanup` task, done by every process that owns a backend instead (the deletes
 * are batched and skip rows another process is deleting). The timer is unref'd, so it never
 * keeps a process alive.
 */
export class ResultExpiryScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: ExpiringResultStore,
    private readonly resultExpiresSeconds: number,
    private readonly intervalMs: number,
    private readonly logger: CeleryLogger,
  ) {}

  /** Starts the timer; the first cleanup runs at once (in the background). No-op when results never expire. */
  start(): void {
    if (this.timer || this.resultExpiresSeconds <= 0 || this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
    setImmediate(() => void this.runOnce());
  }

  /** Stops the timer and waits for a cleanup in progress, so the connection can close after it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One cleanup pass; errors are logged, not thrown: the next tick tries again. */
  runOnce(): Promise<void> {
    if (this.running || !this.timer) return this.running ?? Promise.resolve();
    const olderThan = new Date(Date.now() - this.resultExpiresSeconds * 1000);
    this.running = this.store
      .deleteExpired(olderThan)
      .then((deleted) => {
        if (deleted > 0) this.logger.log(`Deleted ${deleted} expired result(s) from ${this.store.description}`);
      })
      .catch((error: unknown) => {
        this.logger.warn(
          `Could not delete expired results from ${this.store.description}: ${(error as Error).message}. Retrying in ${this.intervalMs} ms.`,
        );
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}

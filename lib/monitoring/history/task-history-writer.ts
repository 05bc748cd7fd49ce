import { CeleryLogger, SILENT_LOGGER } from '../../utils/logger';
import type { ClusterState } from '../cluster-state';
import type { TaskSnapshot } from '../monitored-task';
import type { TaskHistoryStore } from './task-history-store';

export interface TaskHistoryWriterOptions {
  /** Changes are written at most this often, ms. Default 500. */
  flushIntervalMs?: number;
  /** A batch this large is written at once. Default 200. */
  batchSize?: number;
  logger?: CeleryLogger;
}

/** After a failed write, the next waits this long (the database is likely down). */
const RETRY_DELAY_MS = 5_000;
/** Changed tasks kept while writes fail; the oldest are dropped beyond it (history is best effort). */
const MAX_PENDING = 10_000;

/**
 * Keeps a TaskHistoryStore in step with a ClusterState: collects the tasks that changed (the
 * latest snapshot of each) and writes them in one batch per interval, so a burst of events costs
 * one statement. One write at a time. A failed write is logged and retried after a pause, with at
 * most MAX_PENDING tasks waiting meanwhile; history is best effort.
 */
export class TaskHistoryWriter {
  private readonly pending = new Map<string, TaskSnapshot>();
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly logger: CeleryLogger;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private writing: Promise<void> | null = null;
  private lastFailure: string | null = null;
  /** No write starts on an event before this time (epoch ms): set after a failure. */
  private retryNotBefore = 0;
  private stopped = false;

  constructor(private readonly state: ClusterState, private readonly store: TaskHistoryStore, options: TaskHistoryWriterOptions = {}) {
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.batchSize = options.batchSize ?? 200;
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.state.subscribe({
      taskChanged: (task, event) => {
        // Restored tasks come from the store: nothing to write back.
        if (event === null) return;
        this.pending.delete(task.uuid); // re-inserted last: the Map's order is oldest change first
        this.pending.set(task.uuid, task);
        if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
        if (this.pending.size >= this.batchSize && Date.now() >= this.retryNotBefore) void this.flush();
        else this.schedule();
      },
    });
  }

  /** Writes what is pending now; resolves once written (or failed and logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A write under way takes what arrives meanwhile too (writeBatch loops until nothing is pending).
    this.writing ??= this.writeBatch().finally(() => (this.writing = null));
    return this.writing;
  }

  /** Stops listening and writes what is left (once: a failure is logged, not retried). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.writing;
    await this.flush();
  }

  private schedule(delayMs = this.flushIntervalMs): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  private async writeBatch(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.values()].slice(0, this.batchSize);
      for (const task of batch) this.pending.delete(task.uuid);
      try {
        await this.store.save(batch);
        this.lastFailure = null;
      } catch (error) {
        // Put back what was not saved unless a newer snapshot arrived meanwhile.
        for (const task of batch) if (!this.pending.has(task.uuid)) this.pending.set(task.uuid, task);
        const message = (error as Error).message;
        if (message !== this.lastFailure) this.logger.warn(`Could not save task history to ${this.store.description}: ${message}; retrying with the next batch.`);
        this.lastFailure = message;
        this.retryNotBefore = Date.now() + RETRY_DELAY_MS;
        this.schedule(RETRY_DELAY_MS);
        return;
      }
    }
  }
}

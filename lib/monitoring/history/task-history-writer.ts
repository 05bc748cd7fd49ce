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

/**
 * Keeps a TaskHistoryStore in step with a ClusterState: collects the tasks that changed (the
 * latest snapshot of each) and writes them in one batch per interval, so a burst of events costs
 * one statement. A failed write is logged and retried with the next batch; history is best effort.
 */
export class TaskHistoryWriter {
  private readonly pending = new Map<string, TaskSnapshot>();
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly logger: CeleryLogger;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private writing: Promise<void> = Promise.resolve();
  private lastFailure: string | null = null;

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
        this.pending.set(task.uuid, task);
        if (this.pending.size >= this.batchSize) void this.flush();
        else this.schedule();
      },
    });
  }

  /** Writes what is pending now; resolves once written (or failed and logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing = this.writing.then(() => this.writeBatch());
    return this.writing;
  }

  /** Stops listening and writes what is left. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
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
        this.schedule();
        return;
      }
    }
  }
}

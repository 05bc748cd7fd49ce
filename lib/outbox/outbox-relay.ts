import type { DataSource } from 'typeorm';
import { ChannelListener, listenOnDataSource } from '../backend/database/data-source-listener';
import type { PreparedTask } from '../client/celery-client';
import { CeleryLogger } from '../utils/logger';
import { CLAIM_OUTBOX_ROWS_SQL, DELETE_OUTBOX_ROWS_SQL, fromOutboxRow, OutboxRow } from './outbox-row';
import { OutboxTableNames } from './outbox-table';

export interface OutboxRelayDependencies {
  dataSource: DataSource;
  /** Publishes with a confirm: `CeleryClient.publishPrepared`, the code path of every send. */
  publish(prepared: PreparedTask): Promise<void>;
  logger: CeleryLogger;
  /** Longest wait between two looks at the table; LISTEN/NOTIFY usually wakes the relay first. */
  pollIntervalMs: number;
  /** Rows claimed, published and deleted per transaction. */
  batchSize: number;
}

/**
 * Publishes the committed rows of `celery_outbox` to the broker and deletes each once the broker
 * confirmed it (the relay of the transactional-outbox pattern; Celery has no equivalent). Rows
 * are claimed with `FOR UPDATE SKIP LOCKED`, so several relays may run at once. A relay that dies
 * after publishing and before its DELETE commits leaves the rows to be published again: delivery
 * is at least once, with the same task id, which `skipIfSucceeded` absorbs on the worker.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private wakeAgain = false;
  private stopped = true;
  private listener: ChannelListener | null = null;

  constructor(private readonly deps: OutboxRelayDependencies) {}

  /** Starts listening and relays what is already waiting. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.listen();
    this.wake();
  }

  /**
   * Stops waking up, waits for the batch being relayed (so no confirmed row is left undeleted),
   * then relays once more what was committed before the stop — a beat's last runs, whose NOTIFY
   * may come after it — so they go out now rather than when a relay next starts. A row whose
   * publish fails stays for the next relay, as always.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.draining;
    await this.drain(true);
    await this.unlisten();
  }

  /** Relays now (or right after the batch in progress): the NOTIFY handler and the poll call this. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.stopped) return;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      } else this.timer = setTimeout(() => this.wake(), this.deps.pollIntervalMs);
    });
  }

  /** Batches until the table is empty or a publish fails (then the poll tries again later); `final`: the pass at stop. */
  private async drain(final = false): Promise<void> {
    try {
      if (!final && !this.listener) await this.listen();
      while (final || !this.stopped) {
        const { claimed, failed } = await this.relayBatch();
        if (failed > 0 || claimed < this.deps.batchSize) return;
      }
    } catch (error) {
      this.deps.logger.warn(`Outbox relay could not read ${OutboxTableNames.table}: ${(error as Error).message}; trying again in ${this.deps.pollIntervalMs} ms`);
    }
  }

  /**
   * One transaction: claim rows, publish them all with confirms, delete the confirmed ones. Rows
   * whose publish failed stay, and so does every row when the process dies before the commit.
   */
  private relayBatch(): Promise<{ claimed: number; failed: number }> {
    return this.deps.dataSource.transaction(async (manager) => {
      const rows: OutboxRow[] = await manager.query(CLAIM_OUTBOX_ROWS_SQL, [this.deps.batchSize]);
      if (rows.length === 0) return { claimed: 0, failed: 0 };
      const outcomes = await Promise.allSettled(rows.map((row) => this.deps.publish(fromOutboxRow(row))));
      const published = rows.filter((_, index) => outcomes[index].status === 'fulfilled').map((row) => row.id);
      if (published.length > 0) await manager.query(DELETE_OUTBOX_ROWS_SQL, [published]);
      const failures = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [{ row: rows[index], reason: outcome.reason as Error }] : []));
      if (failures.length > 0) {
        const first = failures[0];
        this.deps.logger.warn(
          `Outbox relay could not publish ${failures.length} of ${rows.length} task(s), kept for the next try; ` +
            `first: task ${first.row.task_id}: ${first.reason?.message ?? String(first.reason)}`,
        );
      }
      return { claimed: rows.length, failed: failures.length };
    });
  }

  /**
   * LISTEN on a connection of its own (node-postgres only; other drivers, such as the embedded
   * PGlite, are polled every pollIntervalMs). A lost listener falls back to the poll and is re-made on the next drain.
   */
  private async listen(): Promise<void> {
    try {
      this.listener = await listenOnDataSource(this.deps.dataSource, OutboxTableNames.channel, {
        notified: () => this.wake(),
        lost: (error) => {
          this.listener = null;
          if (!this.stopped) this.deps.logger.warn(`Outbox relay lost its LISTEN connection: ${error.message}; polling every ${this.deps.pollIntervalMs} ms`);
        },
      });
    } catch {
      this.listener = null;
    }
  }

  private async unlisten(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    await listener?.close();
  }
}

import type { DataSource, EntityManager } from 'typeorm';
import { ChannelListener, listenOnDataSource } from '../backend/database/data-source-listener';
import type { PreparedTask } from '../client/celery-client';
import type { SendTaskOptions } from '../client/send-task-options';
import { InvalidScheduleError } from '../errors/invalid-schedule.error';
import { INSERT_OUTBOX_ROWS_SQL, toOutboxColumns } from '../outbox/outbox-row';
import { OutboxRelay } from '../outbox/outbox-relay';
import type { CeleryLogger } from '../utils/logger';
import type { ResolvedBeatOptions } from './beat-options';
import { BeatEntry, EntryCompileOptions, entryFromRow, entryState } from './beat-entry';
import type { CodeScheduleRow } from './store/code-schedule-rows';
import { readDjangoBeatSchema } from './store/django-beat-schema';
import { BeatChangeNotice } from './store/django-beat-tables';
import { CLAIM_ROWS_SQL, LOAD_ROWS_SQL, PeriodicTaskRow, READ_RUNS_SQL, RECORD_RUNS_SQL, RunColumns, START_NEW_ROWS_SQL } from './store/periodic-task-row';
import { writeCodeSchedules } from './store/write-code-schedules';

/** One run fired: what the beat's log line and the metrics are told. */
export interface BeatFire {
  readonly name: string;
  readonly task: string;
  readonly taskId: string;
  /** Seconds between the run's due time and the transaction that fired it (by the database's clock). */
  readonly lagSeconds: number;
}

/** Told of every run fired (CeleryMetrics counts them). Must not throw. */
export interface BeatListener {
  beatFired(fire: BeatFire): void;
}

export interface CeleryBeatDependencies {
  options: ResolvedBeatOptions;
  /** The open database of the schedule tables (migrated by the caller when asked). */
  dataSource: DataSource;
  /** The code's schedules as rows, already checked (code-schedule-rows.ts). */
  codeRows: readonly CodeScheduleRow[];
  /** Routes and encodes a task call: `CeleryClient.prepare`, the first half of every send. */
  prepare(task: string, args: unknown[], options: SendTaskOptions): PreparedTask;
  /** Publishes with a confirm: `CeleryClient.publishPrepared`, the second half. */
  publish(prepared: PreparedTask): Promise<void>;
  logger: CeleryLogger;
  listeners?: readonly BeatListener[];
}

/** Rows fired per claiming transaction. */
const CLAIM_BATCH = 500;
/** Messages the beat's relay publishes per transaction: a beat writes its runs in batches as large. */
const RELAY_BATCH = 500;
/** How long a row another beat holds is left alone before this beat looks again. */
const HELD_ELSEWHERE_MS = 200;

/**
 * The beat (`celery beat`): fires each periodic task when its schedule says, from any number of
 * processes on one PostgreSQL database, each run once, with no leader. A due run is claimed by
 * locking its PeriodicTask row (`FOR UPDATE SKIP LOCKED`), deciding again by the database's clock
 * from the row's own last_run_at, and — in that one transaction — writing the task message to the
 * outbox and recording the run (last_run_at, total_run_count; one-offs disabled). Killed before
 * the commit, nothing happened and another beat fires the run; after it, the outbox relay
 * publishes the message whoever relays it. A run missed while no beat was up fires once when one
 * comes back (Celery: catch up once, not every missed run). Schedule edits (Django's admin, the
 * ORM, SQL) arrive by NOTIFY and take effect at once.
 */
export class CeleryBeat {
  private entries = new Map<number, BeatEntry>();
  /**
   * Rows not to be claimed before a time (this beat's clock, ms): one another beat is firing right
   * now, or one the database's clock said was not due yet when this beat's clock said it was.
   */
  private notBefore = new Map<number, number>();
  private badRows = new Set<string>();
  private clockOffsetMs = 0;
  private reloadWanted = true;
  private timer: NodeJS.Timeout | null = null;
  private cycling: Promise<void> | null = null;
  private cycleAgain = false;
  private stopped = true;
  private listener: ChannelListener | null = null;
  private relay: OutboxRelay | null = null;
  private readonly compileOptions: EntryCompileOptions;

  constructor(private readonly deps: CeleryBeatDependencies) {
    const { options } = deps;
    this.compileOptions = { timeZone: options.timezone, rules: options.scheduleRules, relativeNames: options.relativeNames };
  }

  /** Checks the tables' schema, writes the code's schedules, starts the relay and the LISTEN, and fires what is due. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    const { dataSource, codeRows, logger, options } = this.deps;
    const schema = await readDjangoBeatSchema((sql, parameters) => dataSource.query(sql, parameters));
    const changed = await dataSource.transaction((manager) => writeCodeSchedules(manager, codeRows, schema));
    if (changed > 0) logger.log(`Beat wrote ${changed} schedule(s) of the code into django-celery-beat's tables`);
    this.stopped = false;
    this.relay = new OutboxRelay({ dataSource, publish: this.deps.publish, logger, pollIntervalMs: options.maxIntervalMs, batchSize: RELAY_BATCH });
    await this.relay.start();
    await this.listen();
    const what = options.scheduler === 'django' ? "every enabled row of django-celery-beat's tables" : `${codeRows.length} schedule(s) of the code`;
    logger.log(`Beat started: fires ${what}, ${options.timezone} time, ${options.scheduleRules} rules`);
    this.wake();
    await this.cycling;
  }

  /** Stops firing after the transaction in progress; the relay publishes what was committed first. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.cycling;
    await this.listener?.close();
    this.listener = null;
    await this.relay?.stop();
    this.relay = null;
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.cycling) {
      this.cycleAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let nextMs = this.deps.options.maxIntervalMs;
    this.cycling = this.cycle()
      .then((next) => {
        nextMs = next;
      })
      .catch((error: Error) => {
        this.reloadWanted = true;
        this.deps.logger.warn(`Beat could not read or fire its schedules: ${error.message}; trying again in ${this.deps.options.maxIntervalMs} ms`);
      })
      .finally(() => {
        this.cycling = null;
        if (this.stopped) return;
        if (this.cycleAgain) {
          this.cycleAgain = false;
          this.wake();
        } else this.timer = setTimeout(() => this.wake(), nextMs);
      });
  }

  /** Reloads when told to, fires what is due, and returns how long to sleep. */
  private async cycle(): Promise<number> {
    if (!this.listener) await this.listen();
    if (this.reloadWanted || !this.listener) await this.reload();
    let nowMs = this.nowMs();
    const due = [...this.entries.values()].filter((entry) => (this.notBefore.get(entry.id) ?? 0) <= nowMs && entryState(entry, nowMs).isDue);
    // Each beat starts at a place of its own in the due runs: beats due at once split them rather than queue behind one another's locks.
    const offset = due.length > CLAIM_BATCH ? Math.floor(Math.random() * due.length) : 0;
    const ordered = offset === 0 ? due : [...due.slice(offset), ...due.slice(0, offset)];
    for (let start = 0; start < ordered.length && !this.stopped; start += CLAIM_BATCH) {
      await this.claim(ordered.slice(start, start + CLAIM_BATCH));
    }
    nowMs = this.nowMs();
    let nextMs = this.deps.options.maxIntervalMs;
    for (const entry of this.entries.values()) {
      const retryAt = this.notBefore.get(entry.id);
      if (retryAt !== undefined && retryAt > nowMs) {
        nextMs = Math.min(nextMs, retryAt - nowMs);
        continue;
      }
      // A run that fell due while the claims were open is fired now: a due state's nextSeconds is
      // the interval after *this* run (Celery's is_due), and sleeping it would fire the run a whole
      // interval late.
      const state = entryState(entry, nowMs);
      nextMs = Math.min(nextMs, state.isDue ? 0 : state.nextSeconds * 1000);
    }
    return Math.max(nextMs, 1);
  }

  /** The database's clock, as last measured: every beat decides by the same clock, whatever its host's says. */
  private nowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private async reload(): Promise<void> {
    this.reloadWanted = false;
    const { dataSource, options, codeRows } = this.deps;
    const names = options.scheduler === 'django' ? null : codeRows.map((row) => row.name);
    await dataSource.query(START_NEW_ROWS_SQL, [names]);
    const sentAt = Date.now();
    const rows: PeriodicTaskRow[] = await dataSource.query(LOAD_ROWS_SQL, [names]);
    const receivedAt = Date.now();
    const databaseNow = rows[0]?.now ?? ((await dataSource.query('SELECT clock_timestamp() AS now')) as { now: Date }[])[0].now;
    this.clockOffsetMs = databaseNow.getTime() - (rows.length > 0 ? (sentAt + receivedAt) / 2 : Date.now());
    const entries = new Map<number, BeatEntry>();
    for (const row of rows) {
      const entry = this.compile(row);
      if (entry) entries.set(entry.id, entry);
    }
    this.entries = entries;
    // Schedules changed: every row is decided afresh.
    this.notBefore.clear();
  }

  /**
   * One transaction: lock the due rows no other beat holds, decide again from the locked rows and
   * the database's clock, write the messages of the runs still due to the outbox and record them.
   */
  private async claim(due: readonly BeatEntry[]): Promise<void> {
    const ids = due.map((entry) => entry.id);
    const { fired, skipped } = await this.deps.dataSource.transaction(async (manager) => {
      const rows: PeriodicTaskRow[] = await manager.query(CLAIM_ROWS_SQL, [ids, due.map((entry) => new Date(entry.lastRunAtMs))]);
      const locked = new Set(rows.map((row) => row.id));
      return { fired: await this.fireLocked(manager, rows), skipped: ids.filter((id) => !locked.has(id)) };
    });
    if (skipped.length > 0) await this.readRuns(skipped);
    for (const { entry, taskId, lagSeconds, atMs } of fired) {
      this.entries.set(entry.id, { ...entry, lastRunAtMs: atMs, totalRunCount: entry.totalRunCount + 1, enabled: entry.enabled && !entry.oneOff });
      this.deps.logger.log(`Scheduler: Sending due task ${entry.name} (${entry.task}) id ${taskId}`);
      for (const listener of this.deps.listeners ?? []) listener.beatFired({ name: entry.name, task: entry.task, taskId, lagSeconds });
    }
  }

  /**
   * Rows a claim skipped: one another beat fired since this beat read it gets its new run
   * columns; one unchanged is being fired by another beat right now, and is left alone a moment;
   * one deleted is dropped.
   */
  private async readRuns(ids: number[]): Promise<void> {
    const runs: RunColumns[] = await this.deps.dataSource.query(READ_RUNS_SQL, [ids]);
    const retryAt = this.nowMs() + HELD_ELSEWHERE_MS;
    // A row deleted since the last reload (its NOTIFY still on the way) is no longer fired.
    const found = new Set(runs.map((run) => run.id));
    for (const id of ids) if (!found.has(id)) this.entries.delete(id);
    for (const run of runs) {
      const entry = this.entries.get(run.id);
      if (!entry) continue;
      const lastRunAtMs = (run.last_run_at ?? run.now).getTime();
      if (lastRunAtMs === entry.lastRunAtMs && run.last_run_at !== null) this.notBefore.set(run.id, retryAt);
      else this.entries.set(run.id, { ...entry, lastRunAtMs, totalRunCount: run.total_run_count, enabled: run.enabled });
    }
  }

  private async fireLocked(manager: EntityManager, rows: PeriodicTaskRow[]): Promise<{ entry: BeatEntry; taskId: string; lagSeconds: number; atMs: number }[]> {
    const fired: { entry: BeatEntry; taskId: string; lagSeconds: number; atMs: number }[] = [];
    const messages: PreparedTask[] = [];
    for (const row of rows) {
      this.notBefore.delete(row.id);
      const entry = this.compile(row);
      if (!entry) continue;
      const atMs = row.now.getTime();
      const state = entryState(entry, atMs);
      this.entries.set(entry.id, entry);
      if (!state.isDue) {
        // Not due by the database's clock (this beat's estimate of it runs a little ahead, or the row
        // changed since it was read): look again when the database says, not at once.
        this.notBefore.set(entry.id, this.nowMs() + Math.min(state.nextSeconds * 1000, this.deps.options.maxIntervalMs));
        continue;
      }
      const prepared = this.deps.prepare(entry.task, entry.args, entry.sendOptions);
      messages.push(prepared);
      fired.push({ entry, taskId: prepared.taskId, lagSeconds: state.lagSeconds, atMs });
    }
    if (fired.length > 0) {
      await manager.query(INSERT_OUTBOX_ROWS_SQL, toOutboxColumns(messages));
      await manager.query(RECORD_RUNS_SQL, [fired.map((run) => run.entry.id), fired.map((run) => new Date(run.atMs)), fired.map((run) => run.entry.oneOff)]);
    }
    return fired;
  }

  /** The entry of a row, or null (said once per row and problem) for a row that cannot be fired. */
  private compile(row: PeriodicTaskRow): BeatEntry | null {
    try {
      return entryFromRow(row, this.compileOptions);
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      if (!this.badRows.has(error.message)) {
        this.badRows.add(error.message);
        this.deps.logger.warn(`Beat skips a schedule: ${error.message}`);
      }
      return null;
    }
  }

  private async listen(): Promise<void> {
    try {
      this.listener = await listenOnDataSource(this.deps.dataSource, BeatChangeNotice.channel, {
        notified: () => {
          this.reloadWanted = true;
          this.wake();
        },
        lost: (error) => {
          this.listener = null;
          this.reloadWanted = true;
          if (!this.stopped) this.deps.logger.warn(`Beat lost its LISTEN connection: ${error.message}; reloading every ${this.deps.options.maxIntervalMs} ms until it is back`);
        },
      });
    } catch (error) {
      this.listener = null;
      this.deps.logger.warn(`Beat could not LISTEN for schedule changes: ${(error as Error).message}; reloading every ${this.deps.options.maxIntervalMs} ms`);
    }
  }
}

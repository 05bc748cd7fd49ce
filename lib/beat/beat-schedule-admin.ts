import type { DataSource } from 'typeorm';
import { InvalidScheduleError } from '../errors/invalid-schedule.error';
import { BeatEntry, DEFAULT_COMPILE_OPTIONS, EntryCompileOptions, entryFromRow, entryState } from './beat-entry';
import { bumpChangeMarkerSql, DjangoBeatSchema, readDjangoBeatSchema } from './store/django-beat-schema';
import { DjangoBeatTables as T } from './store/django-beat-tables';
import { LOAD_ROW_SQL, LOAD_ROWS_SQL, PeriodicTaskRow } from './store/periodic-task-row';

/** A periodic task as an operator sees it (django-celery-beat's admin list, with the next run). */
export interface ScheduleView {
  id: number;
  name: string;
  task: string;
  /** Celery's description of the schedule: `<freq: 30.00 seconds>`, `<crontab: …>`… */
  schedule: string;
  enabled: boolean;
  oneOff: boolean;
  lastRunAt: string | null;
  totalRunCount: number;
  /** When it is due next by the database's clock; null when disabled, spent, or unreadable. */
  nextRunAt: string | null;
  /** Why the beat cannot fire it (a row it skips), if so. */
  problem: string | null;
}

/**
 * The schedules page's reads and writes on django-celery-beat's tables, shared by every beat:
 * list with next runs, enable or disable (the tables' triggers wake every beat, and the change
 * marker django-celery-beat's own scheduler watches is bumped as its admin does), and the entry
 * of one row, for "run now".
 */
export class BeatScheduleAdmin {
  private schema: Promise<DjangoBeatSchema> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    /** Celery's `timezone` for interval schedules (crontab rows carry their own) and the beat's rules. */
    private readonly compile: EntryCompileOptions = DEFAULT_COMPILE_OPTIONS,
  ) {}

  /** False when django-celery-beat's tables are not in this database (no beat has run here). */
  async available(): Promise<boolean> {
    const [row] = (await this.dataSource.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [T.periodicTask])) as { present: boolean }[];
    return row?.present === true;
  }

  async list(): Promise<ScheduleView[]> {
    const rows: PeriodicTaskRow[] = await this.dataSource.query(LOAD_ROWS_SQL, [null]);
    return rows.map((row) => this.view(row)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Enables or disables one schedule; null when there is no such row. */
  async setEnabled(id: number, enabled: boolean): Promise<ScheduleView | null> {
    return this.dataSource.transaction(async (manager) => {
      const updated = (await manager.query(`UPDATE ${T.periodicTask} SET enabled = $2, date_changed = clock_timestamp() WHERE id = $1 RETURNING id`, [id, enabled])) as unknown[];
      const changed = Array.isArray(updated[0]) ? (updated[0] as unknown[]) : updated;
      if (changed.length === 0) return null;
      await manager.query(bumpChangeMarkerSql(await this.tablesSchema()));
      const rows: PeriodicTaskRow[] = await manager.query(LOAD_ROW_SQL, [id]);
      return rows[0] ? this.view(rows[0]) : null;
    });
  }

  /** The entry of one row (what the beat would send), or null when there is no such row. */
  async entry(id: number): Promise<BeatEntry | null> {
    const rows: PeriodicTaskRow[] = await this.dataSource.query(LOAD_ROW_SQL, [id]);
    return rows[0] ? entryFromRow(rows[0], this.compile) : null;
  }

  /** Read once: which change-marker column Python's scheduler watches here. */
  private tablesSchema(): Promise<DjangoBeatSchema> {
    this.schema ??= readDjangoBeatSchema((sql, parameters) => this.dataSource.query(sql, parameters)).catch((error: unknown) => {
      this.schema = null;
      throw error;
    });
    return this.schema;
  }

  private view(row: PeriodicTaskRow): ScheduleView {
    const base = {
      id: row.id,
      name: row.name,
      task: row.task,
      enabled: row.enabled,
      oneOff: row.one_off,
      lastRunAt: row.last_run_at ? row.last_run_at.toISOString() : null,
      totalRunCount: row.total_run_count,
    };
    try {
      const entry = entryFromRow(row, this.compile);
      const nowMs = row.now.getTime();
      // A schedule not yet fired counts from now, as the beat does on first sight.
      const state = entryState(row.last_run_at ? entry : { ...entry, lastRunAtMs: nowMs }, nowMs);
      const next = !entry.enabled || !Number.isFinite(state.nextSeconds) ? null : state.isDue ? nowMs : nowMs + state.nextSeconds * 1000;
      return { ...base, schedule: entry.schedule.describe(), nextRunAt: next === null ? null : new Date(next).toISOString(), problem: null };
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      return { ...base, schedule: '', nextRunAt: null, problem: error.message };
    }
  }
}

import type { DataSource } from 'typeorm';
import { describeDatabaseError } from '../../backend/database/postgres-errors';
import type { TaskSnapshot } from '../monitored-task';
import { migrationsAdvice, runCeleryMigrations } from '../../backend/database/migrations/run-celery-migrations';
import { celeryDashboardMigrations } from './create-task-history.migration';
import { TaskHistoryNames as T } from './task-history-names';
import { TASK_HISTORY_COLUMNS, taskFromHistoryRow, TaskHistoryRow, taskHistoryParameters } from './task-history-row';

/** Where the dashboard keeps tasks across restarts. */
export interface TaskHistoryStore {
  /** A human-readable description, for logs. */
  readonly description: string;
  /** Creates the table when missing. */
  prepare(): Promise<void>;
  /** Inserts or replaces these tasks, in one statement. */
  save(tasks: readonly TaskSnapshot[]): Promise<void>;
  /** The `limit` most recently updated tasks, oldest first (the order to restore them in). */
  loadRecent(limit: number): Promise<TaskSnapshot[]>;
  /** One task, or undefined when it was never stored (or has been deleted). */
  load(uuid: string): Promise<TaskSnapshot | undefined>;
  /** Deletes tasks last updated before `date`; returns how many. */
  deleteOlderThan(date: Date): Promise<number>;
}

const UPDATED_COLUMNS = TASK_HISTORY_COLUMNS.filter((column) => column !== 'task_id');

/**
 * The history in PostgreSQL (a server, or the embedded PGlite), in `celery_task_history`: one
 * multi-row upsert per batch, so a busy cluster costs one statement per flush, not one per event.
 */
export class PostgresTaskHistoryStore implements TaskHistoryStore {
  readonly description: string;

  constructor(private readonly dataSource: DataSource) {
    this.description = `PostgreSQL table ${T.table}`;
  }

  async prepare(): Promise<void> {
    try {
      await runCeleryMigrations(this.dataSource, celeryDashboardMigrations);
    } catch (error) {
      throw new Error(`Could not create the dashboard's task history table ${T.table}: ${describeDatabaseError(error)}. ${migrationsAdvice(null)}`, { cause: error });
    }
  }

  async save(tasks: readonly TaskSnapshot[]): Promise<void> {
    if (tasks.length === 0) return;
    const parameters: unknown[] = [];
    const rows = tasks.map((task) => {
      const values = taskHistoryParameters(task);
      const placeholders = values.map((_, index) => `$${parameters.length + index + 1}`);
      parameters.push(...values);
      return `(${placeholders.join(', ')})`;
    });
    await this.dataSource.query(
      `INSERT INTO ${T.table} (${TASK_HISTORY_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}
       ON CONFLICT (task_id) DO UPDATE SET ${UPDATED_COLUMNS.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`,
      parameters,
    );
  }

  async loadRecent(limit: number): Promise<TaskSnapshot[]> {
    const rows: TaskHistoryRow[] = await this.dataSource.query(
      `SELECT ${TASK_HISTORY_COLUMNS.join(', ')} FROM ${T.table} ORDER BY updated_at DESC LIMIT $1`,
      [limit],
    );
    return rows.reverse().map(taskFromHistoryRow);
  }

  async load(uuid: string): Promise<TaskSnapshot | undefined> {
    const rows: TaskHistoryRow[] = await this.dataSource.query(`SELECT ${TASK_HISTORY_COLUMNS.join(', ')} FROM ${T.table} WHERE task_id = $1`, [uuid]);
    return rows.length === 0 ? undefined : taskFromHistoryRow(rows[0]);
  }

  async deleteOlderThan(date: Date): Promise<number> {
    const result: [unknown[], number] = await this.dataSource.query(`DELETE FROM ${T.table} WHERE updated_at < $1`, [date]);
    return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
  }
}

/** No persistence: for a result backend that is not a database; the history lives as long as the process. */
export class MemoryTaskHistoryStore implements TaskHistoryStore {
  readonly description = 'memory (lost at restart)';
  async prepare(): Promise<void> {}
  async save(): Promise<void> {}
  async loadRecent(): Promise<TaskSnapshot[]> {
    return [];
  }
  async load(): Promise<TaskSnapshot | undefined> {
    return undefined;
  }
  async deleteOlderThan(): Promise<number> {
    return 0;
  }
}

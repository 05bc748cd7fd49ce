import { READY_STATES } from '../../protocol/task-states';
import { CeleryTableNames as T } from './celery-table-names';

/**
 * Written on every store, in this order after task_id. `sentAs` is the type the store statement
 * reads the value as from its JSON parameter (store-results-sql.ts), `cast` the column's: bytea
 * goes as `\\x` hex text, except args/kwargs, which go as their JSON text (see `toStoreRow`).
 */
const BASE_COLUMNS = [
  { name: 'status', cast: 'varchar', sentAs: 'varchar' },
  { name: 'result', cast: 'bytea', sentAs: 'bytea' },
  { name: 'date_done', cast: 'timestamp', sentAs: 'timestamp' },
  { name: 'traceback', cast: 'text', sentAs: 'text' },
  // As a JSON string, not a nested value: one text the worker already has, cast once.
  { name: 'result_json', cast: 'jsonb', sentAs: 'text' },
] as const;

/** Celery's `result_extended` columns, written when the backend is `extended`. */
const EXTENDED_COLUMNS = [
  { name: 'name', cast: 'varchar', sentAs: 'varchar' },
  { name: 'args', cast: 'bytea', sentAs: 'text' },
  { name: 'kwargs', cast: 'bytea', sentAs: 'text' },
  { name: 'worker', cast: 'varchar', sentAs: 'varchar' },
  { name: 'retries', cast: 'integer', sentAs: 'integer' },
  { name: 'queue', cast: 'varchar', sentAs: 'varchar' },
] as const;

/** `date_done` as text: the column is naive UTC and drivers would read it in local time. */
const DATE_DONE_TEXT = `to_char(date_done, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS date_done`;

const READY_STATE_LIST = [...READY_STATES].map((state) => `'${state}'`).join(', ');

/** The SQL the database backend runs, built once per backend; every value is a parameter. */
export interface ResultTableSql {
  /** Params: task_id. */
  selectResult: string;
  /** Params: task ids (varchar[]). Rows carry `task_id`; missing tasks have none. */
  selectResults: string;
  /** Params: task_id. */
  deleteResult: string;
  /** Params: olderThan (naive UTC text), batch size. Returns `{ deleted }`. */
  deleteExpiredResultsBatch: string;
  /** Params: olderThan (naive UTC text), batch size. Returns `{ deleted }`. */
  deleteExpiredGroupsBatch: string;
  /** Params: group id, pickled GroupResult, date_done (naive UTC text). */
  saveGroup: string;
  /** Params: group id. */
  selectGroup: string;
  /** Params: group id. */
  deleteGroup: string;
}

/** A column a store writes: its name, its type, and the type its value is sent as. */
export interface StoredColumn {
  name: string;
  cast: string;
  sentAs: string;
}

/** The columns a store writes after `task_id`, in order. */
export function storedColumns(extended: boolean): StoredColumn[] {
  return extended ? [...BASE_COLUMNS, ...EXTENDED_COLUMNS] : [...BASE_COLUMNS];
}

/** Builds the statements the backend runs besides stores (reads, deletes, groups). */
export function buildResultTableSql(): ResultTableSql {
  return {
    // Stores: store-results-sql.ts (many states in one statement).
    selectResult: `
      SELECT status, result, ${DATE_DONE_TEXT}, traceback, name, args, kwargs, worker, retries, queue
      FROM ${T.taskTable} WHERE task_id = $1::varchar`,
    selectResults: `
      SELECT task_id, status, result, ${DATE_DONE_TEXT}, traceback, name, args, kwargs, worker, retries, queue
      FROM ${T.taskTable} WHERE task_id = ANY($1::varchar[])`,
    deleteResult: `DELETE FROM ${T.taskTable} WHERE task_id = $1::varchar`,
    deleteExpiredResultsBatch: deleteExpiredBatch(T.taskTable, `AND status IN (${READY_STATE_LIST})`),
    deleteExpiredGroupsBatch: deleteExpiredBatch(T.groupTable, ''),
    saveGroup: `
      INSERT INTO ${T.groupTable} (id, taskset_id, result, date_done)
      VALUES (nextval('${T.groupSequence}'), $1::varchar, $2::bytea, $3::timestamp)
      ON CONFLICT (taskset_id) DO UPDATE SET result = EXCLUDED.result, date_done = EXCLUDED.date_done`,
    selectGroup: `SELECT result, ${DATE_DONE_TEXT} FROM ${T.groupTable} WHERE taskset_id = $1::varchar`,
    deleteGroup: `DELETE FROM ${T.groupTable} WHERE taskset_id = $1::varchar`,
  };
}

/**
 * Deletes at most one batch, so each statement holds its row locks briefly; SKIP LOCKED lets
 * several processes clean up at once without waiting on each other.
 */
function deleteExpiredBatch(table: string, extraCondition: string): string {
  return `
    WITH doomed AS (
      SELECT id FROM ${table}
      WHERE date_done < $1::timestamp ${extraCondition}
      LIMIT $2::integer
      FOR UPDATE SKIP LOCKED
    ), deleted AS (
      DELETE FROM ${table} WHERE id IN (SELECT id FROM doomed) RETURNING 1
    )
    SELECT count(*)::integer AS deleted FROM deleted`;
}

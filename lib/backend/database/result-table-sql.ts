import { READY_STATES } from '../../protocol/task-states';
import { CeleryTableNames as T } from './celery-table-names';

/** Written on every store, in this parameter order after `$1` = task_id. */
const BASE_COLUMNS = [
  { name: 'status', cast: 'varchar' },
  { name: 'result', cast: 'bytea' },
  { name: 'date_done', cast: 'timestamp' },
  { name: 'traceback', cast: 'text' },
  { name: 'result_json', cast: 'jsonb' },
] as const;

/** Celery's `result_extended` columns, written when the backend is `extended`. */
const EXTENDED_COLUMNS = [
  { name: 'name', cast: 'varchar' },
  { name: 'args', cast: 'bytea' },
  { name: 'kwargs', cast: 'bytea' },
  { name: 'worker', cast: 'varchar' },
  { name: 'retries', cast: 'integer' },
  { name: 'queue', cast: 'varchar' },
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

/** The columns a store writes after `task_id`, in parameter order. */
export function storedColumns(extended: boolean): { name: string; cast: string }[] {
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

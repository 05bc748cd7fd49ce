import { CeleryTableNames as T } from './celery-table-names';
import { storedColumns } from './result-table-sql';

/**
 * The channel our writer NOTIFYs with the ids of tasks that reached a ready state; waiting
 * `get()` calls LISTEN on it. Python Celery neither sends nor reads it.
 */
export const RESULT_READY_CHANNEL = 'nestjs_celery_result_ready';

/**
 * NOTIFY payloads must stay under 8000 bytes. A chunk's JSON array of ids is kept under this
 * many bytes when the chunks are cut (`notifyChunks`).
 */
export const NOTIFY_PAYLOAD_LIMIT_BYTES = 7_000;

/**
 * Builds the statement that stores many task states at once (Celery writes one row per state; we
 * write many in one statement and one commit, so one WAL flush serves them all), then NOTIFYs the
 * ready ones in the same transaction: listeners hear of a row only once it is committed.
 *
 * Two parameters whatever the number of rows: `$1` a JSON array of row objects (`toStoreRow`,
 * joined by `toRowsParameter`), read by `json_to_recordset`, and `$2` the notify chunk of each row
 * (integer, null: not notified), zipped with the rows by `ROWS FROM`. So PostgreSQL parses and
 * plans two parameters, not 13 per row (with one parameter per value, a 100-row batch cost the
 * server half as much again per row: 61.7 against 40.7 µs), and no statement is built per batch
 * size. One JSON text rather than one array per column (as it was): a waiting state keeps one
 * string instead of twelve values and two Buffers, and node-postgres no longer writes each array
 * as a literal element by element; in the 20,000-task drain the worker's CPU per task fell from 80
 * to 69 µs, PostgreSQL's rose by ≈ 1 µs a row (docs/PERFORMANCE.md). It is sent unnamed, planned with each batch's values
 * (database-result-backend.ts says why it is not a named prepared statement); `LIMIT
 * cardinality($2)` passes the row count to that planning, which otherwise takes json_to_recordset
 * for 100 rows and, on a table of some 20,000 rows, hash-joins a scan of all of it. Each task id
 * appears at most once (the caller keeps the latest state).
 *
 * Like the one-row statement it replaces, existing rows are UPDATEd and `nextval()` runs only
 * for rows that are new, so Celery's 32-bit id is not spent on every state; ON CONFLICT covers a
 * concurrent first insert by another process.
 */
export function buildStoreResultsSql(extended: boolean): string {
  const columns = storedColumns(extended);
  const names = columns.map((column) => column.name);
  // What json_to_recordset reads: the row object's keys (toStoreRow) and the types they are sent as.
  const recordColumns = ['task_id varchar', ...columns.map((column) => `${column.name} ${column.sentAs}`)];
  const value = (column: { name: string; sentAs: string; cast: string }) => {
    const sent = `input.${column.name}`;
    if (column.sentAs === column.cast) return sent;
    // args/kwargs arrive as their JSON text (printable ASCII, toPythonJson): these bytes exactly.
    return column.cast === 'bytea' ? `convert_to(${sent}, 'UTF8')` : `${sent}::${column.cast}`;
  };
  return `
    WITH input AS (
      SELECT * FROM ROWS FROM (
        json_to_recordset($1::json) AS (${recordColumns.join(', ')}),
        unnest($2::integer[])
      ) AS input (task_id, ${names.join(', ')}, notify_chunk)
      LIMIT cardinality($2::integer[])
    ),
    updated AS (
      UPDATE ${T.taskTable} AS stored SET ${columns.map((column) => `${column.name} = ${value(column)}`).join(', ')}
      FROM input WHERE stored.task_id = input.task_id
      RETURNING stored.task_id
    ),
    inserted AS (
      INSERT INTO ${T.taskTable} (id, task_id, ${names.join(', ')})
      SELECT nextval('${T.taskSequence}'), input.task_id, ${columns.map(value).join(', ')}
      FROM input WHERE input.task_id NOT IN (SELECT task_id FROM updated)
      ON CONFLICT (task_id) DO UPDATE SET ${names.map((name) => `${name} = EXCLUDED.${name}`).join(', ')}
      RETURNING 1
    )
    SELECT pg_notify('${RESULT_READY_CHANNEL}', json_agg(task_id)::text)
    FROM input WHERE notify_chunk IS NOT NULL GROUP BY notify_chunk`;
}

/**
 * `$1` of `buildStoreResultsSql`: the rows' JSON texts (`toStoreRow`, built when each state was
 * stored) as one JSON array.
 */
export function toRowsParameter(rows: readonly string[]): string {
  return `[${rows.join(',')}]`;
}

/**
 * The notify chunk of each id (null for those not to notify), so that each chunk's JSON array
 * stays under NOTIFY_PAYLOAD_LIMIT_BYTES.
 */
export function notifyChunks(ids: readonly string[], notify: readonly boolean[]): (number | null)[] {
  let chunk = 0;
  let bytes = 2; // []
  return ids.map((id, index) => {
    if (!notify[index]) return null;
    const size = Buffer.byteLength(JSON.stringify(id)) + 2; // json_agg separates with ", "
    if (bytes + size > NOTIFY_PAYLOAD_LIMIT_BYTES) {
      chunk++;
      bytes = 2;
    }
    bytes += size;
    return chunk;
  });
}

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
 * Its parameters are one array per column (`toColumnArrays`): task ids, then the columns of
 * `storedColumns`, then the notify chunk (integer, null: not notified), unnested into rows. So the
 * text is the same for any number of rows: PostgreSQL parses and plans 13 parameters, not 13 per
 * row (with one parameter per value, a 100-row batch cost the server half as much again per row:
 * 61.7 against 40.7 µs), and no statement is built per batch size. It is sent unnamed, planned with
 * each batch's values (database-result-backend.ts says why it is not a named prepared statement). Each task id appears at most once (the caller
 * keeps the latest state).
 *
 * Like the one-row statement it replaces, existing rows are UPDATEd and `nextval()` runs only
 * for rows that are new, so Celery's 32-bit id is not spent on every state; ON CONFLICT covers a
 * concurrent first insert by another process.
 */
export function buildStoreResultsSql(extended: boolean): string {
  const columns = storedColumns(extended);
  const arrays = [`$1::varchar[]`, ...columns.map((column, index) => `$${index + 2}::${column.cast}[]`), `$${columns.length + 2}::integer[]`];
  const names = columns.map((column) => column.name);
  return `
    WITH input AS (
      SELECT * FROM unnest(${arrays.join(', ')}) AS input (task_id, ${names.join(', ')}, notify_chunk)
    ),
    updated AS (
      UPDATE ${T.taskTable} AS stored SET ${names.map((name) => `${name} = input.${name}`).join(', ')}
      FROM input WHERE stored.task_id = input.task_id
      RETURNING stored.task_id
    ),
    inserted AS (
      INSERT INTO ${T.taskTable} (id, task_id, ${names.join(', ')})
      SELECT nextval('${T.taskSequence}'), input.task_id, ${names.map((name) => `input.${name}`).join(', ')}
      FROM input WHERE input.task_id NOT IN (SELECT task_id FROM updated)
      ON CONFLICT (task_id) DO UPDATE SET ${names.map((name) => `${name} = EXCLUDED.${name}`).join(', ')}
      RETURNING 1
    )
    SELECT pg_notify('${RESULT_READY_CHANNEL}', json_agg(task_id)::text)
    FROM input WHERE notify_chunk IS NOT NULL GROUP BY notify_chunk`;
}

/**
 * The parameters of `buildStoreResultsSql`: row `i` of the statement is `rows[i]` (the values of
 * `toStoreParameters`) followed by `chunks[i]`, turned into one array per column.
 */
export function toColumnArrays(rows: readonly (readonly unknown[])[], chunks: readonly (number | null)[]): unknown[][] {
  const columnCount = rows.length === 0 ? 0 : rows[0].length;
  const arrays: unknown[][] = [];
  for (let column = 0; column < columnCount; column++) arrays.push(rows.map((row) => row[column]));
  arrays.push([...chunks]);
  return arrays;
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

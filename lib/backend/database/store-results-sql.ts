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
 * Builds the statement that stores `rowCount` task states at once (Celery writes one row per
 * state; we write many in one statement and one commit, so one WAL flush serves them all), then
 * NOTIFYs the ready ones in the same transaction: listeners hear of a row only once it is
 * committed. Parameters per row: those of `toStoreParameters`, then the notify chunk (integer,
 * null: not notified). Each task id appears at most once (the caller keeps the latest state).
 *
 * Like the one-row statement it replaces, existing rows are UPDATEd and `nextval()` runs only
 * for rows that are new, so Celery's 32-bit id is not spent on every state; ON CONFLICT covers a
 * concurrent first insert by another process.
 */
export function buildStoreResultsSql(extended: boolean, rowCount: number): string {
  const columns = storedColumns(extended);
  const perRow = columns.length + 2; // task_id first, notify chunk last
  const rows: string[] = [];
  for (let row = 0; row < rowCount; row++) {
    const base = row * perRow;
    const values = [`$${base + 1}::varchar`, ...columns.map((column, index) => `$${base + index + 2}::${column.cast}`), `$${base + perRow}::integer`];
    rows.push(`(${values.join(', ')})`);
  }
  const names = columns.map((column) => column.name);
  return `
    WITH input (task_id, ${names.join(', ')}, notify_chunk) AS (VALUES ${rows.join(', ')}),
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

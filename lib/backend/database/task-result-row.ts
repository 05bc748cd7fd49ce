import { formatNaiveUtc, parseCeleryDate } from '../../protocol/celery-time';
import { toPythonJson } from '../../protocol/python-json';
import { TaskResultMeta } from '../../protocol/result-meta';
import { READY_STATES } from '../../protocol/task-states';
import { pickleResultColumn, unpickleResultColumn } from './result-column-pickle';
import { toResultJsonColumn } from './result-json-column';

/** A `celery_taskmeta` row as `selectResult` returns it (bytea as Buffer or, from PGlite, Uint8Array). */
export interface TaskResultRow {
  status: string;
  result: Uint8Array | null;
  /** Naive UTC text, `2026-11-24T08:36:00.388033`. */
  date_done: string | null;
  traceback: string | null;
  name: string | null;
  args: Uint8Array | null;
  kwargs: Uint8Array | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
}

/**
 * The parameters of one row of the store statement (store-results-sql.ts) for one meta: task id, then the columns of `storedColumns`.
 * Only what Celery's table holds is kept: `children`, `group_id` and `parent_id` have no column,
 * and Celery's database backend drops them too.
 */
export function toStoreParameters(meta: TaskResultMeta, extended: boolean): unknown[] {
  const base = [
    meta.taskId,
    meta.status,
    pickleResultColumn(meta.taskId, meta.status, meta.result),
    dateDoneColumn(meta),
    meta.traceback ?? null,
    toResultJsonColumn(meta.result),
  ];
  if (!extended) return base;
  return [
    ...base,
    meta.name ?? null,
    jsonBytes(meta.args),
    jsonBytes(meta.kwargs),
    meta.worker ?? null,
    meta.retries ?? null,
    meta.queue ?? null,
  ];
}

/** Celery sets `date_done = utcnow()` for ready states; a meta without one gets now. */
function dateDoneColumn(meta: TaskResultMeta): string | null {
  const dateDone = meta.dateDone ?? (READY_STATES.has(meta.status) ? new Date() : null);
  return dateDone ? formatNaiveUtc(dateDone) : null;
}

/** args/kwargs as Celery's result_serializer (json) writes them: the exact bytes Python would. */
function jsonBytes(value: unknown): Buffer | null {
  return value === null || value === undefined ? null : Buffer.from(toPythonJson(value), 'utf8');
}

/** The meta stored in a row, whoever wrote it (Python Celery, extended or not, or us). */
export function fromTaskResultRow(taskId: string, row: TaskResultRow): TaskResultMeta {
  return {
    taskId,
    status: row.status,
    result: unpickleResultColumn(taskId, row.status, asBuffer(row.result)),
    traceback: row.traceback,
    children: [],
    dateDone: row.date_done === null ? null : parseCeleryDate(row.date_done),
    name: row.name,
    args: parseJsonColumn(row.args) as unknown[] | null,
    kwargs: parseJsonColumn(row.kwargs) as Record<string, unknown> | null,
    worker: row.worker,
    retries: row.retries,
    queue: row.queue,
  };
}

/** node-postgres returns Buffer, PGlite a plain Uint8Array; the pickle decoder wants a Buffer. */
export function asBuffer(bytes: Uint8Array | null): Buffer | null {
  if (bytes === null) return null;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * args/kwargs are informational copies of the task message; one that is not valid JSON (Python's
 * json may write NaN) reads as null rather than making the whole result unreadable.
 */
function parseJsonColumn(bytes: Uint8Array | null): unknown {
  const buffer = asBuffer(bytes);
  if (buffer === null) return null;
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return null;
  }
}

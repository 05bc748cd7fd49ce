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
 * One row of the store statement (store-results-sql.ts) for one meta, as the JSON text of an object
 * whose keys are the columns `json_to_recordset` reads: task_id, then those of `storedColumns`.
 * Built once, when the state is stored; a batch joins the texts. Bytea goes as `\\x` hex, which
 * PostgreSQL's bytea input reads back to the same bytes; args/kwargs as their JSON text (printable
 * ASCII), turned into bytes by the statement. Only what Celery's table holds is kept: `children`,
 * `group_id` and `parent_id` have no column, and Celery's database backend drops them too.
 */
export function toStoreRow(meta: TaskResultMeta, extended: boolean): string {
  const pickled = pickleResultColumn(meta.taskId, meta.status, meta.result);
  const taskId = wellFormed(meta.taskId);
  const status = wellFormed(meta.status);
  const result = pickled === null ? null : `\\x${pickled.toString('hex')}`;
  const dateDone = dateDoneColumn(meta);
  const traceback = wellFormed(meta.traceback ?? null);
  const resultJson = toResultJsonColumn(meta.result);
  // Whole object literals, one shape each: JSON.stringify walks these fast, where an object made
  // by spreading is ten times slower to write (8 against 0.85 µs a row).
  if (!extended) return JSON.stringify({ task_id: taskId, status, result, date_done: dateDone, traceback, result_json: resultJson });
  return JSON.stringify({
    task_id: taskId,
    status,
    result,
    date_done: dateDone,
    traceback,
    result_json: resultJson,
    name: wellFormed(meta.name ?? null),
    args: jsonText(meta.args),
    kwargs: jsonText(meta.kwargs),
    worker: wellFormed(meta.worker ?? null),
    retries: meta.retries ?? null,
    queue: wellFormed(meta.queue ?? null),
  });
}

/** ES2024's String methods (Node 20 has them; the TypeScript lib here is ES2023). */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * A lone surrogate (valid in a JS string) becomes U+FFFD, as node-postgres writes it in a text
 * parameter: JSON.stringify would escape it as `\\udXXX`, which PostgreSQL's JSON refuses.
 */
function wellFormed(text: string | null): string | null {
  if (text === null) return null;
  const unicode = text as unknown as WellFormedString;
  return unicode.isWellFormed() ? text : unicode.toWellFormed();
}

/** Celery sets `date_done = utcnow()` for ready states; a meta without one gets now. */
function dateDoneColumn(meta: TaskResultMeta): string | null {
  const dateDone = meta.dateDone ?? (READY_STATES.has(meta.status) ? new Date() : null);
  return dateDone ? formatNaiveUtc(dateDone) : null;
}

/**
 * args/kwargs as Celery's result_serializer (json) writes them: the exact text Python would, all
 * printable ASCII (non-ASCII is escaped), so its bytes are the same in any server encoding.
 */
function jsonText(value: unknown): string | null {
  return value === null || value === undefined ? null : toPythonJson(value);
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

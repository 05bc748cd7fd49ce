import { TaskStateName } from './task-states';

/**
 * How Celery describes an exception in a result (`celery.backends.base.prepare_exception` with
 * the JSON serializer): the Python client re-raises `exc_module.exc_type(*exc_message)`.
 */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
  /**
   * Ours, not Celery's: the JavaScript class name of an error a Nest task threw (`RangeError` for
   * `exc_type` ValueError). Celery 5.2 to 5.6 read only the three keys above and ignore it.
   */
  exc_js_type?: string;
}

/**
 * One stored state of a task: Celery's result "meta" (celery-protocol.md §4.0) in camelCase.
 * The same object is written by every backend; each backend maps it to its own wire shape.
 */
export interface TaskResultMeta {
  taskId: string;
  status: TaskStateName;
  /** SUCCESS: the return value; FAILURE/RETRY/REVOKED: an ExceptionInfo; STARTED: `{ pid, hostname }`. */
  result: unknown;
  traceback: string | null;
  /** Result tuples of tasks this task published (`[[id, null], null]` each). */
  children: unknown[];
  /** Set for ready states (SUCCESS, FAILURE, REVOKED); null for STARTED and RETRY. */
  dateDone: Date | null;
  groupId?: string | null;
  parentId?: string | null;
  /** The fields below are Celery's `result_extended` columns. */
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
  /**
   * The task's stamps (Celery 5.3+, with `result_extended`): stored as `stamped_headers` plus one
   * key per stamp by the key-value backends; the database backend has no column for them.
   */
  stamps?: Record<string, unknown> | null;
}

/**
 * Celery's task states (celery.states). The names are the strings stored in result backends
 * and sent in events, so they are shared with Python Celery verbatim.
 */
export const TaskState = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'REVOKED',
  REJECTED: 'REJECTED',
  RETRY: 'RETRY',
  IGNORED: 'IGNORED',
} as const;

/** A state name; custom states (Celery's `update_state(state='PROGRESS')`) are plain strings. */
export type TaskStateName = (typeof TaskState)[keyof typeof TaskState] | (string & {});

/** States after which a task will not change again (celery.states.READY_STATES). */
export const READY_STATES: ReadonlySet<string> = new Set([TaskState.SUCCESS, TaskState.FAILURE, TaskState.REVOKED]);

/** States whose `result` is an exception description (celery.states.EXCEPTION_STATES). */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([TaskState.RETRY, TaskState.FAILURE, TaskState.REVOKED]);

/** States that make `AsyncResult.get()` throw (celery.states.PROPAGATE_STATES). */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([TaskState.FAILURE, TaskState.REVOKED]);

import { TaskState } from '../protocol/task-states';

/** Celery's `states.PRECEDENCE`, highest first; `null` is where custom states rank. */
const PRECEDENCE: readonly (string | null)[] = [
  TaskState.SUCCESS,
  TaskState.FAILURE,
  null,
  TaskState.REVOKED,
  TaskState.STARTED,
  TaskState.RECEIVED,
  TaskState.REJECTED,
  TaskState.RETRY,
  TaskState.PENDING,
];

const CUSTOM_STATE_RANK = PRECEDENCE.indexOf(null);

/**
 * Celery's `states.precedence(state)`: the state's index in the precedence list, lower is
 * stronger; custom states (`PROGRESS`) rank between FAILURE and REVOKED.
 */
export function statePrecedence(state: string): number {
  const rank = PRECEDENCE.indexOf(state);
  return rank === -1 ? CUSTOM_STATE_RANK : rank;
}

/** Celery's `TASK_EVENT_TO_STATE`: the state a task event puts the task in (`task-<subject>`). */
export const TASK_EVENT_STATES: Readonly<Record<string, string>> = {
  sent: TaskState.PENDING,
  received: TaskState.RECEIVED,
  started: TaskState.STARTED,
  failed: TaskState.FAILURE,
  retried: TaskState.RETRY,
  succeeded: TaskState.SUCCESS,
  revoked: TaskState.REVOKED,
  rejected: TaskState.REJECTED,
};

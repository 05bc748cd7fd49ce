import type { TaskSnapshot, TaskTimelineEntry } from '../monitored-task';
import { emptyTask } from '../monitored-task';

/** The columns of `celery_task_history`, in the order the SQL lists them. */
export const TASK_HISTORY_COLUMNS = [
  'task_id', 'name', 'state', 'worker', 'args', 'kwargs', 'result', 'exception', 'traceback', 'retries', 'runtime',
  'received_at', 'started_at', 'updated_at', 'timeline', 'details',
] as const;

/** A row as node-postgres returns it. */
export interface TaskHistoryRow {
  task_id: string;
  name: string | null;
  state: string;
  worker: string | null;
  args: string | null;
  kwargs: string | null;
  result: string | null;
  exception: string | null;
  traceback: string | null;
  retries: number | null;
  runtime: number | null;
  received_at: Date | null;
  started_at: Date | null;
  updated_at: Date;
  timeline: TaskTimelineEntry[];
  details: Record<string, unknown>;
}

/** Snapshot fields kept in `details` (exact epoch seconds and the rarely shown fields). */
const DETAIL_FIELDS = [
  'client', 'eta', 'expires', 'rootId', 'parentId', 'exchange', 'routingKey', 'sent', 'received', 'started', 'succeeded',
  'failed', 'retried', 'revoked', 'rejected', 'timestamp', 'clock',
] as const;

/** The query parameters of one row, in TASK_HISTORY_COLUMNS order. */
export function taskHistoryParameters(task: TaskSnapshot): unknown[] {
  const details: Record<string, unknown> = {};
  for (const field of DETAIL_FIELDS) details[field] = task[field];
  return [
    task.uuid, task.name, task.state, task.worker, task.args, task.kwargs, task.result, task.exception, task.traceback,
    task.retries, task.runtime, toDate(task.received), toDate(task.started),
    toDate(task.timestamp ?? task.received ?? task.sent) ?? new Date(),
    JSON.stringify(task.timeline), JSON.stringify(details),
  ];
}

/** A stored row back as the task snapshot it was written from. */
export function taskFromHistoryRow(row: TaskHistoryRow): TaskSnapshot {
  const task = emptyTask(row.task_id);
  Object.assign(task, {
    name: row.name, state: row.state, worker: row.worker, args: row.args, kwargs: row.kwargs, result: row.result,
    exception: row.exception, traceback: row.traceback, retries: row.retries, runtime: row.runtime,
    timeline: Array.isArray(row.timeline) ? row.timeline : [],
  });
  const details = row.details ?? {};
  for (const field of DETAIL_FIELDS) {
    if (details[field] !== undefined) (task as unknown as Record<string, unknown>)[field] = details[field];
  }
  return task;
}

function toDate(seconds: number | null): Date | null {
  return seconds === null ? null : new Date(seconds * 1000);
}

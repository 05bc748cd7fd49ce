import { TaskState } from '../protocol/task-states';
import type { TaskSnapshot } from './monitored-task';

/** Which tasks to list (Flower's task filters). Every field is optional; all given must match. */
export interface TaskFilter {
  /** Part of the task name, case-insensitive (`add` matches `tasks.add`). */
  name?: string;
  /** Exact state, e.g. `FAILURE`. */
  state?: string;
  /** Exact worker node name. */
  worker?: string;
  /** Epoch seconds: only tasks whose last event is at or after / before this. */
  from?: number;
  to?: number;
  /** At most this many, most recent first. */
  limit?: number;
}

/** Whether a task passes the filter (`limit` aside). */
export function matchesFilter(task: TaskSnapshot, filter: TaskFilter): boolean {
  if (filter.name !== undefined && !(task.name ?? '').toLowerCase().includes(filter.name.toLowerCase())) return false;
  if (filter.state !== undefined && task.state !== filter.state) return false;
  if (filter.worker !== undefined && task.worker !== filter.worker) return false;
  const at = lastSeen(task);
  if (filter.from !== undefined && (at === null || at < filter.from)) return false;
  if (filter.to !== undefined && (at === null || at > filter.to)) return false;
  return true;
}

/** Tasks (most recent first, as ClusterState.tasks() gives them) that pass the filter, up to its limit. */
export function filterTasks(tasks: readonly TaskSnapshot[], filter: TaskFilter): TaskSnapshot[] {
  const matching: TaskSnapshot[] = [];
  for (const task of tasks) {
    if (!matchesFilter(task, filter)) continue;
    matching.push(task);
    if (filter.limit !== undefined && matching.length >= filter.limit) break;
  }
  return matching;
}

/** The time of a task's latest event, epoch seconds; null for a task no event has dated. */
export function lastSeen(task: TaskSnapshot): number | null {
  return task.timestamp ?? task.received ?? task.sent;
}

/** One bucket of the throughput and failure-rate charts. */
export interface TaskRatePoint {
  /** Start of the bucket, epoch seconds. */
  at: number;
  succeeded: number;
  failed: number;
  /** failed / (succeeded + failed), 0 when none finished. */
  failureRate: number;
}

/**
 * Tasks finished per bucket over the last `windowSeconds` (Flower's throughput graphs): counted
 * by the time they succeeded or failed, oldest bucket first.
 */
export function taskRateSeries(tasks: readonly TaskSnapshot[], options: { now: number; windowSeconds: number; bucketSeconds: number }): TaskRatePoint[] {
  const { now, windowSeconds, bucketSeconds } = options;
  const count = Math.max(1, Math.ceil(windowSeconds / bucketSeconds));
  const end = Math.floor(now / bucketSeconds) * bucketSeconds + bucketSeconds;
  const start = end - count * bucketSeconds;
  const points: TaskRatePoint[] = Array.from({ length: count }, (_, index) => ({ at: start + index * bucketSeconds, succeeded: 0, failed: 0, failureRate: 0 }));
  for (const task of tasks) {
    const finished = task.state === TaskState.SUCCESS ? task.succeeded : task.state === TaskState.FAILURE ? task.failed : null;
    if (finished === null || finished < start || finished >= end) continue;
    const point = points[Math.floor((finished - start) / bucketSeconds)];
    if (task.state === TaskState.SUCCESS) point.succeeded += 1;
    else point.failed += 1;
  }
  for (const point of points) {
    const finished = point.succeeded + point.failed;
    point.failureRate = finished === 0 ? 0 : point.failed / finished;
  }
  return points;
}

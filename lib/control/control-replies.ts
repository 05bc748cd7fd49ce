/**
 * The values workers answer remote-control commands with, in Celery 5.2.6's field names (Fx
 * worker_pidbox_*): what our worker sends and what `celery.control.inspect()` reads, from a Python
 * worker or ours alike.
 */

/** Most `control` commands: `{"ok": "pong"}`, `{"error": "unknown task"}`. */
export type ControlOutcome = { ok: string } | { error: string };

/** Celery's `Request.info()`: one task in `active`, `reserved`, `scheduled`, `query_task`. */
export interface TaskRequestInfo {
  id: string;
  /** The shadow name when there is one, else the task name. */
  name: string;
  /** With `safe: true`, the repr strings (`argsrepr`, `kwargsrepr`) instead. */
  args: unknown[] | string;
  kwargs: Record<string, unknown> | string;
  /** The registered task name. */
  type: string;
  hostname: string;
  /** Epoch seconds when it started running; null while waiting. */
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number | null; redelivered: boolean };
  /** The process running it; null while waiting. */
  worker_pid: number | null;
}

/** One entry of `scheduled`: an ETA task held by the worker. */
export interface ScheduledTaskInfo {
  /** ISO 8601 with offset, as Python's `isoformat()`. */
  eta: string;
  /** The timer entry's priority (6 for every ETA task in Celery). */
  priority: number;
  request: TaskRequestInfo;
}

/** `query_task`: task id → where it is and its info. */
export type QueriedTasks = Record<string, ['active' | 'reserved' | 'ready', TaskRequestInfo]>;

/** `stats`, Fx worker_pidbox_stats. */
export interface WorkerStats {
  /** Tasks run since start, by name. */
  total: Record<string, number>;
  pid: number;
  /** The Lamport clock, as a string. */
  clock: string;
  /** Whole seconds since the worker started. */
  uptime: number;
  pool: { 'max-concurrency': number; processes: number[]; [key: string]: unknown };
  /** kombu's `Connection.info()`, without the password. */
  broker: Record<string, unknown>;
  prefetch_count: number;
  /** `getrusage(RUSAGE_SELF)`. */
  rusage: Record<string, number>;
  /** With `--autoscale` (Celery's Autoscaler.info): its limits, the children now, the tasks held. */
  autoscaler?: { max: number; min: number; current: number; qty: number };
}

/** A kombu `Queue.as_dict(recurse=True)`, one entry of `active_queues`. */
export interface QueueInfo {
  name: string;
  exchange: { name: string; type: string; durable: boolean; auto_delete: boolean; [key: string]: unknown };
  routing_key: string;
  durable: boolean;
  exclusive: boolean;
  auto_delete: boolean;
  queue_arguments: Record<string, unknown> | null;
  [key: string]: unknown;
}

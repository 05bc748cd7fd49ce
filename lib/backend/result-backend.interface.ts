import { TaskResultMeta } from '../protocol/result-meta';
import type { BackendCapabilities } from './backend-capabilities';

export interface WaitOptions {
  /** Milliseconds; rejects with a ResultTimeoutError after that. Undefined waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Where the sender of a task waits for its result, besides the store: the AMQP `reply_to` and
 * `correlation_id` of the task message, which the rpc:// backend replies to.
 */
export interface ResultRoute {
  replyTo: string | null;
  correlationId: string | null;
}

/**
 * Where task states and results live (Celery's result backend). Implemented over TypeORM for
 * PostgreSQL (Celery's own `celery_taskmeta` tables), rpc:// and Redis.
 */
export interface ResultBackend {
  /** A human-readable address with secrets masked, for logs. */
  readonly description: string;
  /** What it can do besides storing: read results back, count chords, save groups, keep revokes. */
  readonly capabilities: BackendCapabilities;
  connect(): Promise<void>;
  /**
   * The reply queue tasks sent from this process should name in `reply_to` (rpc://: results
   * come back there). Undefined for backends that store results elsewhere.
   */
  readonly replyQueue?: string;
  /** Stores one state of a task (Celery writes one per transition: STARTED, RETRY, SUCCESS…). */
  storeResult(meta: TaskResultMeta, route?: ResultRoute): Promise<void>;
  /** The latest stored state, or null when nothing is stored (Celery's PENDING). */
  getResult(taskId: string): Promise<TaskResultMeta | null>;
  /** Resolves with the first ready state (SUCCESS, FAILURE, REVOKED) stored for the task. */
  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta>;
  /**
   * Resolves when a state of the task may have been stored since (the backend was told: LISTEN/
   * NOTIFY, Redis pub/sub, an rpc:// reply, a memory:// write), or after `maxWaitMs` at the latest;
   * rejects with `signal.reason` when it aborts. What `AsyncResult.watch()` waits on between reads.
   */
  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void>;
  /** Deletes what is stored for the task (Celery's `AsyncResult.forget()`). */
  forget(taskId: string): Promise<void>;
  /** Deletes ready results done before `olderThan`; returns how many (Celery's `backend_cleanup`). */
  deleteExpired(olderThan: Date): Promise<number>;
  /**
   * Resolves when the store answers a cheap request now (a `SELECT 1`, the reply consumer being
   * up), rejects with the reason otherwise: what a health check reports.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

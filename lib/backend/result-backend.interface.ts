import { TaskResultMeta } from '../protocol/result-meta';

export interface WaitOptions {
  /** Milliseconds; rejects with a ResultTimeoutError after that. Undefined waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Where task states and results live (Celery's result backend). Implemented over TypeORM for
 * PostgreSQL (Celery's own `celery_taskmeta` tables) and, later, rpc:// and Redis.
 */
export interface ResultBackend {
  /** A human-readable address with secrets masked, for logs. */
  readonly description: string;
  connect(): Promise<void>;
  /** Stores one state of a task (Celery writes one per transition: STARTED, RETRY, SUCCESS…). */
  storeResult(meta: TaskResultMeta): Promise<void>;
  /** The latest stored state, or null when nothing is stored (Celery's PENDING). */
  getResult(taskId: string): Promise<TaskResultMeta | null>;
  /** Resolves with the first ready state (SUCCESS, FAILURE, REVOKED) stored for the task. */
  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta>;
  /** Deletes what is stored for the task (Celery's `AsyncResult.forget()`). */
  forget(taskId: string): Promise<void>;
  /** Deletes ready results done before `olderThan`; returns how many (Celery's `backend_cleanup`). */
  deleteExpired(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}

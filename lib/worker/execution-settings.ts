import { TaskMessage } from '../protocol/task-message';
import { TaskOptions, TaskPoolName } from '../task/task-definition';
import { WorkerOptions } from './worker-options';

/** How one task message is executed, decided in this one place: message > run-time override > task > worker. */
export interface ExecutionSettings {
  acksLate: boolean;
  /**
   * acksLate only: a redelivered message whose task is stored STARTED was being run by a worker
   * that was lost. true runs it again; false stores FAILURE (WorkerLostError) and acks it.
   */
  rejectOnWorkerLost: boolean;
  trackStarted: boolean;
  /** Skip storing SUCCESS (failures are stored anyway, as Celery does). */
  ignoreResult: boolean;
  /** Look the task id up before running and ack without running when SUCCESS is stored (per task; off by default). */
  skipIfSucceeded: boolean;
  /** Seconds, or null for none: the message's `timelimit` header wins over the task's options. */
  timeLimit: number | null;
  softTimeLimit: number | null;
  /** Where it runs: the task's `pool`, else the worker's. */
  pool: TaskPoolName;
}

/** Time limits set at run time (Celery's `control time_limit`); null removes the task's own. */
export interface TimeLimitOverride {
  timeLimit: number | null;
  softTimeLimit: number | null;
}

export function resolveExecutionSettings(message: TaskMessage, task: TaskOptions, worker: WorkerOptions, override?: TimeLimitOverride): ExecutionSettings {
  const limits = override ?? { timeLimit: task.timeLimit ?? null, softTimeLimit: task.softTimeLimit ?? null };
  const acksLate = task.acksLate ?? worker.acksLate;
  const rejectOnWorkerLost = task.rejectOnWorkerLost ?? worker.rejectOnWorkerLost;
  return {
    acksLate,
    rejectOnWorkerLost,
    // Failing lost runs needs to know a run began: STARTED is that record.
    trackStarted: (task.trackStarted ?? worker.trackStarted) || (acksLate && !rejectOnWorkerLost),
    ignoreResult: message.ignoreResult || (task.ignoreResult ?? worker.ignoreResult),
    skipIfSucceeded: task.skipIfSucceeded ?? false,
    timeLimit: message.timeLimit[0] ?? limits.timeLimit,
    softTimeLimit: message.timeLimit[1] ?? limits.softTimeLimit,
    pool: task.pool ?? worker.pool,
  };
}

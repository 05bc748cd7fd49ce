import type { TaskScheduleOption } from './task-schedule';

/**
 * Per-task settings, the attributes of a Celery task class in camelCase. Unset values fall back
 * to the module's worker defaults (see execution-settings.ts, the one place that decides).
 */
export interface TaskOptions {
  /** Registered name other languages call it by, e.g. 'tasks.add' (Celery: `name`). Defaults to `ClassName.method`. */
  name?: string;
  /** Queue this task is sent to when the call names none (Celery: the task's `queue` attribute). */
  queue?: string;
  /** Ack after the result is stored instead of before running (Celery: `acks_late`). */
  acksLate?: boolean;
  /** Run again (true) or fail with WorkerLostError (false) when its worker was lost mid-run; acksLate only (Celery: `reject_on_worker_lost`). */
  rejectOnWorkerLost?: boolean;
  /** Store nothing on success (Celery: `ignore_result`). Failures are still stored. */
  ignoreResult?: boolean;
  /** Store STARTED when the task begins (Celery: `track_started`). */
  trackStarted?: boolean;
  /**
   * Duplicate-delivery guard (Celery has no such option): before running a delivery, look its task
   * id up in the result backend and, when SUCCESS is stored, ack it without running it. Absorbs
   * the redelivery of an acksLate task whose worker died after storing the result but before the
   * ack, and the second copy an outbox relay may publish. Needs a result backend workers can read back (PostgreSQL, Redis).
   */
  skipIfSucceeded?: boolean;
  /**
   * An errback taking Celery's `(request, exc, traceback)`: linked as the errback of a task that
   * fails on a worker where this task is registered, it is called there, in-process, with the
   * failed task's context, its error and the traceback text (then any args of its own), as
   * Celery's `_call_task_errbacks` calls errbacks whose function takes more than one argument.
   * Celery decides by the function's arity; here it is said, not guessed. Default false: the
   * errback is sent as a message with the failed task's id, as Celery sends one-argument errbacks.
   */
  errbackWithRequest?: boolean;
  /** Most runs per worker: "10/s", "100/m", "1000/h" or a number per second (Celery: `rate_limit`). */
  rateLimit?: string | number;
  /** Seconds after which the task is failed with TimeLimitExceeded and its slot freed (Celery: `time_limit`). */
  timeLimit?: number;
  /** Seconds after which the task's AbortSignal fires with SoftTimeLimitExceeded (Celery: `soft_time_limit`). */
  softTimeLimit?: number;
  /**
   * Where this task runs, over the worker's `pool`: 'inline' on the worker's event loop, 'process'
   * in a child process of the worker's process pool (Celery's prefork pool). See docs/PROCESS-POOL.md.
   */
  pool?: TaskPoolName;
  /** Errors (classes) that retry the task automatically (Celery: `autoretry_for`). */
  autoretryFor?: ErrorClass[];
  /** Tries after the first before FAILURE; null: unlimited (Celery: `max_retries`, default 3). */
  maxRetries?: number | null;
  /** Seconds before a retry that names no countdown (Celery: `default_retry_delay`, default 180). */
  defaultRetryDelay?: number;
  /** Exponential backoff for autoretries: true (factor 1 s) or the factor in seconds (Celery: `retry_backoff`). Default false. */
  retryBackoff?: boolean | number;
  /** Longest backoff, seconds (Celery: `retry_backoff_max`, default 600). */
  retryBackoffMax?: number;
  /** Spread each backoff randomly over [0, backoff] (Celery: `retry_jitter`, default true). */
  retryJitter?: boolean;
  /**
   * Send this task periodically, from the processes that run a beat (the `beat` module option):
   * an entry of Celery's `beat_schedule` for this task, named after it unless `name` says otherwise.
   * E.g. `{ crontab: { minute: 0, hour: 4 } }`, `30` (seconds), or `{ schedule: 30, args: [1] }`.
   */
  schedule?: TaskScheduleOption;
}

/**
 * Where tasks run: 'inline' on the worker's own event loop (I/O-bound tasks; the default), or
 * 'process' in child processes that each create the application (Celery's prefork pool).
 */
export type TaskPoolName = 'inline' | 'process';

/** A class of errors, as `autoretryFor` lists them. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** A task the worker can run: a registered name bound to code. */
export interface TaskDefinition {
  readonly name: string;
  readonly options: TaskOptions;
  /** Where it was declared, for messages: `MathTasks.add`. */
  readonly source: string;
  /**
   * Checks a message's args and kwargs against the task and returns the call to make. Throws
   * (TaskArgumentsError) when they do not fit: the message is then refused before anything runs.
   */
  prepare(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): () => unknown;
}

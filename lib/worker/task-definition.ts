/**
 * Per-task settings, the attributes of a Celery task class in camelCase. Unset values fall back
 * to the module's worker defaults (see execution-settings.ts, the one place that decides).
 */
export interface TaskOptions {
  /** Registered name other languages call it by, e.g. 'tasks.add' (Celery: `name`). Defaults to `ClassName.method`. */
  name?: string;
  /** Ack after the result is stored instead of before running (Celery: `acks_late`). */
  acksLate?: boolean;
  /** Store nothing on success (Celery: `ignore_result`). Failures are still stored. */
  ignoreResult?: boolean;
  /** Store STARTED when the task begins (Celery: `track_started`). */
  trackStarted?: boolean;
}

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

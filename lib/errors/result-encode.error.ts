import { CeleryError } from './celery.error';

/**
 * A task's result has no form the result backend can store (e.g. a function, a symbol, a class
 * instance for the pickle column). Nothing was written; a worker should store a FAILURE
 * instead, as Celery stores an `EncodeError`.
 */
export class ResultEncodeError extends CeleryError {
  /** Stored as kombu's EncodeError, what Celery stores for a result it cannot serialise. */
  readonly celeryExceptionType = 'EncodeError';
  readonly celeryExceptionModule = 'kombu.exceptions';

  constructor(
    readonly taskId: string,
    readonly state: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `The ${state} result of task ${taskId} cannot be stored: ${reason}. Expected JSON-like values ` +
        '(null, booleans, numbers, bigint, strings, Buffers, Dates, arrays, plain objects). ' +
        'Return such a value from the task.',
      options,
    );
  }
}

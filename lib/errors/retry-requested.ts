import { CeleryError } from './celery.error';

/** How a task asks to be retried (the options of Celery's `self.retry()`). */
export interface RetryOptions {
  /** Seconds to wait before the next try (Celery: `countdown`); default: the task's `defaultRetryDelay`. */
  countdown?: number;
  /** Time of the next try (Celery: `eta`). */
  eta?: Date;
  /** The error that caused the retry, stored with the RETRY state and kept if retries run out (Celery: `exc`). */
  error?: unknown;
  /** Overrides the task's maxRetries for this call (Celery: `max_retries`). */
  maxRetries?: number | null;
  /** Send the next try to this queue instead of where the task came from (Celery: `retry(queue=…)`). */
  queue?: string;
}

/**
 * Thrown by `currentTask().retry()` (Celery raises `Retry` from `self.retry()`): the worker
 * republishes the task and records RETRY. Never caught by autoretry.
 */
export class RetryRequested extends CeleryError {
  constructor(readonly options: RetryOptions) {
    super('Task asked to be retried');
  }
}

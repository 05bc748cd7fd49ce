import { CeleryError } from './celery.error';

/**
 * A task failed on its last allowed try. Stored as Celery's own MaxRetriesExceededError so a
 * Python caller re-raises the real class; the message and `cause` keep the last error.
 */
export class MaxRetriesExceededError extends CeleryError {
  readonly celeryExceptionType = 'MaxRetriesExceededError';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(description: string, cause: unknown) {
    const last = cause instanceof Error ? `${cause.name}: ${cause.message}` : cause === undefined ? null : String(cause);
    super(`Can't retry ${description}${last ? ` (last error: ${last})` : ''}`, { cause });
    if (cause instanceof Error && cause.stack) this.stack = `${this.name}: ${this.message}\nCaused by: ${cause.stack}`;
  }
}

import { CeleryError } from './celery.error';

/**
 * A message that is not a valid Celery task message: it is rejected without requeue (a
 * dead-letter exchange on the queue keeps it) and, when its task id is known, stored as FAILURE.
 */
export class InvalidTaskMessageError extends CeleryError {
  /** Stored as Celery's own exception for undecodable messages. */
  readonly celeryExceptionType = 'InvalidTaskError';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(
    readonly reason: string,
    readonly taskId: string | null = null,
    readonly taskName: string | null = null,
  ) {
    super(`Invalid task message${taskId ? ` ${taskId}` : ''}${taskName ? ` (${taskName})` : ''}: ${reason}`);
  }
}

import { CeleryError } from './celery.error';

/**
 * A task message that fails message signing (Celery's `celery.exceptions.SecurityError`): not
 * signed when signatures are required, signed by a certificate that is not trusted, or changed
 * after signing. The worker rejects it without requeue (a dead-letter exchange on the queue keeps
 * it) and stores nothing: its task id sits in headers nobody signed, so it cannot be trusted.
 */
export class MessageSecurityError extends CeleryError {
  readonly celeryExceptionType = 'SecurityError';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(
    readonly reason: string,
    readonly taskId: string | null = null,
    readonly taskName: string | null = null,
  ) {
    super(`Refused task message${taskId ? ` ${taskId}` : ''}${taskName ? ` (${taskName})` : ''}: ${reason}`);
  }
}

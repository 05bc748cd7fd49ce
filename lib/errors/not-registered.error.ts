import { CeleryError } from './celery.error';

/** A message named a task this worker does not know; stored as Celery's own NotRegistered. */
export class NotRegisteredError extends CeleryError {
  readonly celeryExceptionType = 'NotRegistered';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(readonly taskName: string) {
    super(taskName);
  }
}

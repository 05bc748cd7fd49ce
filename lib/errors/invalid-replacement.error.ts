import { CeleryError } from './celery.error';

/** A task asked to be replaced by what cannot replace it; stored as Celery's ImproperlyConfigured, as `Task.replace` raises. */
export class InvalidReplacementError extends CeleryError {
  readonly celeryExceptionType = 'ImproperlyConfigured';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(taskName: string, problem: string) {
    super(`${taskName}: ${problem}`);
  }
}

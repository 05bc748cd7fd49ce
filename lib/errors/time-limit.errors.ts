import { CeleryError } from './celery.error';

/**
 * The soft time limit passed: the task's AbortSignal fires with this as its reason, so the task
 * can catch it and clean up (Celery's SoftTimeLimitExceeded).
 */
export class SoftTimeLimitExceeded extends CeleryError {
  readonly celeryExceptionType = 'SoftTimeLimitExceeded';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(readonly seconds: number) {
    super(`SoftTimeLimitExceeded(${seconds})`);
  }
}

/**
 * The hard time limit passed: the task is failed and its slot freed (Celery's TimeLimitExceeded).
 * Node.js cannot stop code that ignores its AbortSignal; see the README on time limits.
 */
export class TimeLimitExceeded extends CeleryError {
  readonly celeryExceptionType = 'TimeLimitExceeded';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(readonly seconds: number) {
    super(`TimeLimitExceeded(${seconds})`);
  }
}

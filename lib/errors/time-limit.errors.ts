import { CeleryError } from './celery.error';

/**
 * The soft time limit passed: the task's AbortSignal fires with this as its reason, so the task
 * can catch it and clean up (Celery's SoftTimeLimitExceeded). Stored, if the task lets it escape,
 * as `billiard.exceptions.SoftTimeLimitExceeded` with no arguments, as a Python worker stores it
 * (billiard raises `SoftTimeLimitExceeded()`; `celery.exceptions` only re-exports the class).
 */
export class SoftTimeLimitExceeded extends CeleryError {
  readonly celeryExceptionType = 'SoftTimeLimitExceeded';
  readonly celeryExceptionModule = 'billiard.exceptions';
  readonly celeryExceptionArgs: readonly unknown[] = [];

  constructor(readonly seconds: number) {
    super(`SoftTimeLimitExceeded(${seconds})`);
  }
}

/**
 * The hard time limit passed: the task is failed and its slot freed (Celery's TimeLimitExceeded).
 * Stored as a Python worker stores it: `billiard.exceptions.TimeLimitExceeded` with the limit in
 * seconds as its one argument (celery/worker/request.py `on_timeout`: `TimeLimitExceeded(timeout)`).
 * Node.js cannot stop code that ignores its AbortSignal; see docs/TASKS.md on time limits.
 */
export class TimeLimitExceeded extends CeleryError {
  readonly celeryExceptionType = 'TimeLimitExceeded';
  readonly celeryExceptionModule = 'billiard.exceptions';
  readonly celeryExceptionArgs: readonly unknown[];

  constructor(readonly seconds: number) {
    super(`TimeLimitExceeded(${seconds})`);
    this.celeryExceptionArgs = [seconds];
  }
}

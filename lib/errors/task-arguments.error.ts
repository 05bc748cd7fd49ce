import { CeleryError } from './celery.error';

/**
 * Args/kwargs that do not fit the task's parameters. Stored as a Python TypeError so a Python
 * caller sees what Python itself would raise.
 */
export class TaskArgumentsError extends CeleryError {
  readonly celeryExceptionType = 'TypeError';
  readonly celeryExceptionModule = 'builtins';

  constructor(taskName: string, problem: string) {
    super(`${taskName}() ${problem}`);
  }
}

import { CeleryError } from './celery.error';

/** A task asks for `skipIfSucceeded` while the worker's result backend cannot tell it what already succeeded. */
export class DuplicateGuardUnavailableError extends CeleryError {
  constructor(
    readonly taskNames: readonly string[],
    backendDescription: string,
  ) {
    super(
      `Task(s) ${taskNames.join(', ')} use skipIfSucceeded, which looks each task id up in the result backend before running it, ` +
        `but the result backend (${backendDescription}) cannot be read back by a worker. Use a backend that stores results where workers can read them ` +
        "(PostgreSQL: backend: 'postgresql://…' or the embedded default; Redis: backend: 'redis://…'), or remove skipIfSucceeded from these tasks.",
    );
  }
}

import { CeleryError } from './celery.error';

/** `updateState()` was given a state or task id no result backend can store; nothing was stored. */
export class InvalidTaskStateError extends CeleryError {
  constructor(taskId: string, problem: string) {
    super(`Cannot update the state of task ${taskId}: ${problem}.`);
  }
}

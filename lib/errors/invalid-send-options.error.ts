import { CeleryError } from './celery.error';

/** A task call with options that cannot be sent; nothing was published. */
export class InvalidSendOptionsError extends CeleryError {
  constructor(taskName: string, problem: string) {
    super(`Cannot send task "${taskName}": ${problem}`);
  }
}

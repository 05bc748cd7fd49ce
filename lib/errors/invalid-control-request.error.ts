import { CeleryError } from './celery.error';

/** A remote-control call (`celery.control.…`) with options that cannot be sent; nothing was published. */
export class InvalidControlRequestError extends CeleryError {
  constructor(method: string, problem: string) {
    super(`Cannot send remote-control command "${method}": ${problem}`);
  }
}

import { pythonRepr } from '../protocol/python-repr';
import { CeleryError } from './celery.error';

/**
 * A remote-control command refused or failed the way Celery's Python handler does (an unknown
 * command is `KeyError('no_such_command')`, a missing argument a `TypeError`). The requester reads
 * `repr` in the reply's `error` key, word for word what a Python worker would answer, so Celery's
 * CLI and Flower show the same text for either kind of worker.
 */
export class ControlCommandError extends CeleryError {
  constructor(
    /** The Python exception class a 5.2.6 worker raises here. */
    readonly pythonType: string,
    message: string,
  ) {
    super(message);
  }

  /** Python's `repr(exc)`: `KeyError('no_such_command')`. */
  get repr(): string {
    return `${this.pythonType}(${pythonRepr(this.message)})`;
  }
}

import { CeleryError } from './celery.error';

/**
 * A task result that cannot be written as a Python pickle for Celery's database backend, e.g. a
 * function, `undefined` or a class instance. Python's equivalent is `pickle.PicklingError`.
 * Nothing is stored; the message names where in the value the problem is.
 */
export class UnpicklableValueError extends CeleryError {
  constructor(
    /** Where the value sits, e.g. `result.items[3]`. */
    readonly path: string,
    /** What was found there, e.g. `a function`, `undefined` or `a Map instance`. */
    readonly found: string,
    /** Why it cannot be written; defaults to the type not being supported. */
    problem = `${found} has no Python equivalent`,
  ) {
    super(
      `Cannot pickle ${path} for the database result backend: ${problem}. Expected None/null, boolean, number, ` +
        'bigint, string, Buffer, Date, array, PythonTuple, plain object, PickledGroupResult or PickledAsyncResult. ' +
        'Convert the value (for example to a plain object, a string or null) before returning it from the task.',
    );
  }
}

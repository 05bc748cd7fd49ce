import { CeleryError } from './celery.error';

/** A PythonException was given a class name Python could not look up; raised in its place. */
export class InvalidPythonExceptionNameError extends CeleryError {
  constructor(given: string, problem: string) {
    super(
      `new PythonException(${JSON.stringify(given)}) cannot name a Python exception: ${problem}. Expected the ` +
        "class's module and name joined by dots ('myproj.errors.PaymentDeclined'), a built-in's name " +
        "('ValueError'), or { module: 'myproj.errors', type: 'Outer.Inner' } for a nested class.",
    );
  }
}

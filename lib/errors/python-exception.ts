import { pythonRepr } from '../protocol/python-repr';
import { CeleryError } from './celery.error';
import { InvalidPythonExceptionNameError } from './invalid-python-exception-name.error';

/** A Python exception class by module and class name (`__qualname__`, dotted for a nested class). */
export interface PythonExceptionName {
  module: string;
  type: string;
}

/**
 * Throw it from a task to fail it with a Python exception of your choosing, so Python code can
 * `except` that class: `throw new PythonException('myproj.errors.PaymentDeclined', 'card refused', 42)`
 * is stored as Celery stores `raise PaymentDeclined('card refused', 42)` from a Python task
 * (`exc_module` "myproj.errors", `exc_type` "PaymentDeclined", `exc_message` ["card refused", 42]),
 * and a Python client's `result.get()` raises `myproj.errors.PaymentDeclined('card refused', 42)`.
 *
 * The arguments are the exception's constructor arguments (Python's `exc.args`): JSON values, as
 * for task arguments. A name without dots is a built-in (`'ValueError'`); for a nested class give
 * `{ module: 'myproj.errors', type: 'Payment.Declined' }`. Celery looks the module up among those
 * the client has already imported and never imports it: a client that has not imported
 * `myproj.errors` gets a stand-in class of the same name (caught only as `Exception`), as it would
 * from a Python worker.
 */
export class PythonException extends CeleryError {
  readonly celeryExceptionType: string;
  readonly celeryExceptionModule: string;
  readonly celeryExceptionArgs: readonly unknown[];

  constructor(pythonClass: string | PythonExceptionName, ...args: unknown[]) {
    const { module, type } = pythonExceptionName(pythonClass);
    super(`${module === 'builtins' ? '' : `${module}.`}${type}(${args.map(pythonRepr).join(', ')})`);
    this.celeryExceptionType = type;
    this.celeryExceptionModule = module;
    this.celeryExceptionArgs = args;
  }
}

const DOTTED_IDENTIFIERS = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*(\.[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*)*$/u;

/** Python's own exceptions outside `Exception`: re-raised in a client, they would end or interrupt it. */
const NOT_TO_RAISE_REMOTELY: ReadonlySet<string> = new Set(['BaseException', 'SystemExit', 'KeyboardInterrupt', 'GeneratorExit', 'BaseExceptionGroup']);

function pythonExceptionName(pythonClass: string | PythonExceptionName): PythonExceptionName {
  const given = typeof pythonClass === 'string' ? pythonClass : `${pythonClass?.module}.${pythonClass?.type}`;
  const name =
    typeof pythonClass === 'string'
      ? splitQualifiedName(pythonClass)
      : { module: String(pythonClass?.module ?? ''), type: String(pythonClass?.type ?? '') };
  if (!DOTTED_IDENTIFIERS.test(name.module) || !DOTTED_IDENTIFIERS.test(name.type)) {
    throw new InvalidPythonExceptionNameError(given, 'the module and the class must be Python identifiers joined by dots');
  }
  if (name.module === 'builtins' && NOT_TO_RAISE_REMOTELY.has(name.type)) {
    throw new InvalidPythonExceptionNameError(given, `${name.type} is not an Exception: re-raised by a Python client, it would stop that client`);
  }
  return name;
}

/** 'myproj.errors.PaymentDeclined' → module 'myproj.errors', type 'PaymentDeclined'; 'ValueError' → builtins. */
function splitQualifiedName(qualifiedName: string): PythonExceptionName {
  const lastDot = qualifiedName.lastIndexOf('.');
  if (lastDot < 0) return { module: 'builtins', type: qualifiedName };
  return { module: qualifiedName.slice(0, lastDot), type: qualifiedName.slice(lastDot + 1) };
}

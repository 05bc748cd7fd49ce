/**
 * Which Python exception class a JavaScript error is stored as, so a Python client re-raises an
 * exception its `except` clauses can name (Celery's `exception_to_python`, celery-protocol.md §4.4).
 *
 * Only classes every Celery client has loaded are named: Python looks `exc_module` up in
 * `sys.modules` and never imports it, so a class in a module the client has not imported comes
 * back as a generic stand-in. `builtins` is always loaded; `celery.exceptions`,
 * `billiard.exceptions` and `kombu.exceptions` are loaded by Celery itself. When no Python class
 * fits, the error is stored under its own name with no module: Celery then makes an `Exception`
 * subclass of that name (catch it as `Exception`), which keeps the name for logs and for
 * producers in other languages that match `exc_type`.
 */

/** A Python exception class as a Celery result names it: `exc_module` and `exc_type` (`__qualname__`). */
export interface PythonExceptionClass {
  readonly module: string;
  readonly type: string;
}

const builtin = (type: string): PythonExceptionClass => ({ module: 'builtins', type });

/**
 * JavaScript's own error classes (and the names Node.js and the web platform give errors) and their
 * Python counterparts. `null`: Python has none; the error keeps its own name.
 */
export const JAVASCRIPT_ERROR_CLASSES: Readonly<Record<string, PythonExceptionClass | null>> = {
  Error: builtin('Exception'),
  TypeError: builtin('TypeError'),
  // Python raises ValueError for a value of the right type but out of range (math.sqrt(-1), chr(-1)).
  RangeError: builtin('ValueError'),
  // At run time JS raises it for bad text given to JSON.parse (or a RegExp), not for bad code
  // (which fails at load): Python's json raises ValueError (JSONDecodeError) for the same.
  SyntaxError: builtin('ValueError'),
  // An unbound name: Python's NameError. Python's own ReferenceError is about dead weak references.
  ReferenceError: builtin('NameError'),
  // A malformed %-escape (decodeURIComponent): a bad value.
  URIError: builtin('ValueError'),
  // DOMException / Node's AbortSignal.timeout() reason.
  TimeoutError: builtin('TimeoutError'),
  // Not raised by JS engines today; Python has no eval-specific error.
  EvalError: null,
  // Python's ExceptionGroup (3.11+) needs the exceptions themselves as arguments, which a result
  // cannot carry, and Celery clients on Python 3.10 or older lack it.
  AggregateError: null,
  // DOMException and Node's AbortError (an aborted fetch, timer or stream): Python's
  // CancelledError derives from BaseException, which `except Exception` would miss.
  AbortError: null,
};

/**
 * Node.js system errors by `code`, as Python picks the `OSError` subclass by errno
 * (`OSError(errno.ENOENT, …)` is a FileNotFoundError; CPython's Objects/exceptions.c). Any other
 * system error (a code like EMFILE on an error with a `syscall`) is a plain `OSError`.
 */
export const SYSTEM_ERROR_CLASSES: Readonly<Record<string, PythonExceptionClass>> = {
  EAGAIN: builtin('BlockingIOError'),
  EALREADY: builtin('BlockingIOError'),
  EINPROGRESS: builtin('BlockingIOError'),
  EWOULDBLOCK: builtin('BlockingIOError'),
  EPIPE: builtin('BrokenPipeError'),
  ESHUTDOWN: builtin('BrokenPipeError'),
  ECHILD: builtin('ChildProcessError'),
  ECONNABORTED: builtin('ConnectionAbortedError'),
  ECONNREFUSED: builtin('ConnectionRefusedError'),
  ECONNRESET: builtin('ConnectionResetError'),
  EEXIST: builtin('FileExistsError'),
  ENOENT: builtin('FileNotFoundError'),
  EINTR: builtin('InterruptedError'),
  EISDIR: builtin('IsADirectoryError'),
  ENOTDIR: builtin('NotADirectoryError'),
  EACCES: builtin('PermissionError'),
  EPERM: builtin('PermissionError'),
  ESRCH: builtin('ProcessLookupError'),
  ETIMEDOUT: builtin('TimeoutError'),
};

/** What an errno-coded error with no subclass of its own is: Python's `OSError`. */
export const OTHER_SYSTEM_ERROR: PythonExceptionClass = builtin('OSError');

/**
 * Python's built-in exception classes a JS error may be named after (`class KeyError extends
 * Error`) and be stored as. Left out: those whose constructor needs more than a message
 * (UnicodeDecodeError, ExceptionGroup…), which Python could not rebuild, those outside
 * `Exception` (SystemExit, KeyboardInterrupt), iteration signals (StopIteration), and SystemError,
 * which in Python means an interpreter bug while Node.js names some of its own errors so.
 */
export const PYTHON_BUILTIN_EXCEPTIONS: ReadonlySet<string> = new Set([
  'Exception', 'ArithmeticError', 'AssertionError', 'AttributeError', 'BufferError', 'EOFError',
  'FloatingPointError', 'ImportError', 'ModuleNotFoundError', 'IndexError', 'KeyError', 'LookupError',
  'MemoryError', 'NameError', 'UnboundLocalError', 'NotImplementedError', 'OverflowError',
  'RecursionError', 'RuntimeError', 'SyntaxError', 'IndentationError', 'TabError', 'TypeError',
  'UnicodeError', 'ValueError', 'ZeroDivisionError', 'OSError', 'BlockingIOError', 'ChildProcessError',
  'ConnectionError', 'BrokenPipeError', 'ConnectionAbortedError', 'ConnectionRefusedError',
  'ConnectionResetError', 'FileExistsError', 'FileNotFoundError', 'InterruptedError', 'IsADirectoryError',
  'NotADirectoryError', 'PermissionError', 'ProcessLookupError', 'TimeoutError',
]);

/**
 * The Python class for an error thrown by task code, or null when none fits (it is then stored
 * under `javascriptName` with no module). In order: a system error's `code`; then the error's own
 * name and each class it extends, nearest first, looked up in JAVASCRIPT_ERROR_CLASSES and
 * PYTHON_BUILTIN_EXCEPTIONS. So `class CardDeclined extends RangeError` is a ValueError (what
 * `except ValueError` expects), while `class CardDeclined extends Error` keeps its own name: a plain
 * `Exception` would be caught by exactly the same `except` clauses and say less.
 */
export function pythonClassOf(error: Error, javascriptName: string): PythonExceptionClass | null {
  const system = systemErrorClass(error);
  if (system) return system;
  for (const name of [javascriptName, ...classNames(error)]) {
    if (Object.prototype.hasOwnProperty.call(JAVASCRIPT_ERROR_CLASSES, name)) return JAVASCRIPT_ERROR_CLASSES[name];
    if (PYTHON_BUILTIN_EXCEPTIONS.has(name)) return builtin(name);
  }
  return null;
}

/**
 * The name JavaScript shows for an error, as its stack trace starts: `error.name` (`AbortError`
 * for a DOMException), or the class name when `name` is only the default a subclass inherited
 * from a built-in (`class CardDeclined extends RangeError {}` has the name 'RangeError').
 */
export function javascriptErrorName(error: Error): string {
  const className = typeof error.constructor?.name === 'string' && error.constructor.name ? error.constructor.name : 'Error';
  const name = typeof error.name === 'string' ? error.name : '';
  return name && !isInheritedBuiltinName(error) ? name : className;
}

/** JavaScript's own error constructors, whose prototypes give every instance a default `name`. */
const BUILTIN_ERROR_CONSTRUCTORS: ReadonlySet<string> = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'URIError', 'EvalError', 'AggregateError']);

function isInheritedBuiltinName(error: Error): boolean {
  for (let owner: object | null = error; owner; owner = Object.getPrototypeOf(owner)) {
    if (!Object.prototype.hasOwnProperty.call(owner, 'name')) continue;
    if (owner === error) return false;
    const constructorName = Object.prototype.hasOwnProperty.call(owner, 'constructor') ? (owner as { constructor?: { name?: unknown } }).constructor?.name : undefined;
    return typeof constructorName === 'string' && BUILTIN_ERROR_CONSTRUCTORS.has(constructorName);
  }
  return false;
}

/**
 * True for an Error from any realm: Node.js's own errors and DOMExceptions fail `instanceof Error`
 * under test runners such as Jest, which run code in a VM context of its own.
 */
export function isErrorFromAnyRealm(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  for (let prototype = Object.getPrototypeOf(value); prototype; prototype = Object.getPrototypeOf(prototype)) {
    if (Object.prototype.hasOwnProperty.call(prototype, 'constructor') && prototype.constructor?.name === 'Error') return true;
  }
  return false;
}

function systemErrorClass(error: Error): PythonExceptionClass | null {
  const { code, syscall } = error as Error & { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return null;
  if (Object.prototype.hasOwnProperty.call(SYSTEM_ERROR_CLASSES, code)) return SYSTEM_ERROR_CLASSES[code];
  // Node.js sets `syscall` on every libuv error; an application's own `code` strings are left alone.
  return typeof syscall === 'string' && /^E[A-Z0-9]+$/.test(code) ? OTHER_SYSTEM_ERROR : null;
}

/**
 * The class names up the error's prototype chain, nearest first, up to (not including) Error.
 * Compared by name, not identity: errors made by Node.js itself come from another realm under
 * test runners such as Jest, where `instanceof RangeError` is false for a real RangeError.
 */
function classNames(error: Error): string[] {
  const names: string[] = [];
  for (let prototype = Object.getPrototypeOf(error); prototype; prototype = Object.getPrototypeOf(prototype)) {
    const name = Object.prototype.hasOwnProperty.call(prototype, 'constructor') ? prototype.constructor?.name : undefined;
    if (name === 'Error' || name === 'Object') break;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}

import { ExceptionInfo } from './result-meta';

/**
 * Exception class names that exist in Python's `builtins`: a JS error with one of these names is
 * stored with `exc_module: "builtins"`, so a Python client re-raises the real Python class
 * (celery-protocol.md §4.4). Other names become synthetic classes on the Python side.
 */
const PYTHON_BUILTIN_EXCEPTIONS: ReadonlySet<string> = new Set([
  'Exception', 'ArithmeticError', 'AssertionError', 'AttributeError', 'EOFError', 'KeyError', 'IndexError',
  'LookupError', 'MemoryError', 'NotImplementedError', 'OSError', 'OverflowError', 'RecursionError',
  'RuntimeError', 'TimeoutError', 'TypeError', 'ValueError', 'ZeroDivisionError', 'ConnectionError',
  'PermissionError', 'FileNotFoundError', 'UnicodeError',
]);

/** Errors that carry their Celery identity, e.g. a NotRegistered raised by our worker. */
export interface CeleryNamedError {
  celeryExceptionType?: string;
  celeryExceptionModule?: string | null;
  /** The Python exception's `args` (stored as `exc_message`); default: `[error.message]`. */
  celeryExceptionArgs?: readonly unknown[];
}

/** Describes a thrown value the way Celery's `prepare_exception` does for the JSON serializer. */
export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof Error) {
    const named = error as Error & CeleryNamedError;
    const type = named.celeryExceptionType ?? errorClassName(error);
    const module = named.celeryExceptionModule !== undefined ? named.celeryExceptionModule : moduleOf(type);
    const args = named.celeryExceptionType && named.celeryExceptionArgs ? [...named.celeryExceptionArgs] : [error.message];
    return { exc_type: type, exc_message: args, exc_module: module };
  }
  return { exc_type: 'Exception', exc_message: [String(error)], exc_module: 'builtins' };
}

/** `class Unavailable extends Error {}` keeps the name 'Error': its class name says more. */
function errorClassName(error: Error): string {
  if (error.name && error.name !== 'Error') return error.name;
  return error.constructor?.name || 'Error';
}

function moduleOf(type: string): string | null {
  return PYTHON_BUILTIN_EXCEPTIONS.has(type) ? 'builtins' : null;
}

/** True when a stored result looks like an exception description. */
export function isExceptionInfo(value: unknown): value is ExceptionInfo {
  return typeof value === 'object' && value !== null && typeof (value as ExceptionInfo).exc_type === 'string';
}

/** The message text of a stored exception: Celery keeps the constructor args as a list. */
export function exceptionMessage(info: ExceptionInfo): string {
  const parts = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(', ');
}

import { isErrorFromAnyRealm, javascriptErrorName, pythonClassOf } from './python-exception-classes';
import { ExceptionInfo } from './result-meta';

/**
 * Errors that name their Python class themselves: Celery's own exceptions raised by our worker
 * (NotRegistered, TaskRevokedError, TimeLimitExceeded…) and PythonException. They are stored
 * exactly as a Python worker stores them, with no `exc_js_type`.
 */
export interface CeleryNamedError {
  celeryExceptionType?: string;
  celeryExceptionModule?: string | null;
  /** The Python exception's `args` (stored as `exc_message`); default: `[error.message]`. */
  celeryExceptionArgs?: readonly unknown[];
  /** The whole stored form, already computed (an error rebuilt from another process): used as it is. */
  celeryExceptionInfo?: ExceptionInfo;
}

/**
 * Describes a thrown value the way Celery's `prepare_exception` does for the JSON serializer, with
 * the Python class a Python client can catch (python-exception-classes.ts) and, for an error a
 * task threw, its JavaScript class name in `exc_js_type`.
 */
export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (!(error instanceof Error || isErrorFromAnyRealm(error))) return { exc_type: 'Exception', exc_message: [String(error)], exc_module: 'builtins' };
  const named = error as Error & CeleryNamedError;
  if (named.celeryExceptionInfo) return named.celeryExceptionInfo;
  if (named.celeryExceptionType) {
    return {
      exc_type: named.celeryExceptionType,
      exc_message: named.celeryExceptionArgs ? [...named.celeryExceptionArgs] : [error.message],
      exc_module: named.celeryExceptionModule ?? null,
    };
  }
  const javascriptName = javascriptErrorName(error);
  const python = pythonClassOf(error, javascriptName);
  return {
    exc_type: python ? python.type : javascriptName,
    exc_message: [error.message],
    exc_module: python ? python.module : null,
    exc_js_type: javascriptName,
  };
}

/**
 * Celery's exception dict in `prepare_exception`'s key order, so what we write equals a Python
 * worker's byte for byte, then `exc_js_type` when there is one. Every backend writes this.
 */
export function pythonExceptionDict(info: ExceptionInfo): Record<string, unknown> {
  const dict: Record<string, unknown> = { exc_type: info.exc_type, exc_message: info.exc_message, exc_module: info.exc_module ?? null };
  if (typeof info.exc_js_type === 'string') dict.exc_js_type = info.exc_js_type;
  return dict;
}

/** True when a stored result looks like an exception description. */
export function isExceptionInfo(value: unknown): value is ExceptionInfo {
  return typeof value === 'object' && value !== null && typeof (value as ExceptionInfo).exc_type === 'string';
}

/** The message text of a stored exception: Celery keeps the constructor args as a list. */
export function exceptionMessage(info: ExceptionInfo): string {
  const parts = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return parts.map(argumentText).join(', ');
}

function argumentText(part: unknown): string {
  if (typeof part === 'string') return part;
  // Python ints beyond 2^53 arrive as bigint, which JSON.stringify refuses.
  if (typeof part === 'bigint') return part.toString();
  try {
    return JSON.stringify(part) ?? String(part);
  } catch {
    return String(part);
  }
}

/** The traceback Celery stores beside an exception: the JS stack (which starts with its class name), or null. */
export function tracebackOf(error: unknown): string | null {
  return isErrorFromAnyRealm(error) && typeof error.stack === 'string' && error.stack !== '' ? error.stack : null;
}

import { toExceptionInfo, tracebackOf } from '../protocol/exception-info';
import { safeRepr } from './safe-repr';

/**
 * The `exception` of task-failed / task-retried events: Python's repr of the exception,
 * `ValueError('boom')`, with the class name Celery would store for it (celery-protocol.md §4.4);
 * `None` when there is none (a retry without an error). An empty message gives `Exception()`; each
 * argument is capped like a result (safeRepr).
 */
export function exceptionRepr(error: unknown): string {
  if (error === undefined || error === null) return 'None';
  try {
    const info = toExceptionInfo(error);
    const args = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
    const shown = args.length === 1 && args[0] === '' ? '' : args.map((arg) => safeRepr(arg)).join(', ');
    return `${info.exc_type}(${shown})`;
  } catch {
    return 'Exception()';
  }
}

/** The `traceback` of those events: the error's stack, as the result backends store it; empty when there is none. */
export function eventTraceback(error: unknown): string {
  try {
    return tracebackOf(error) ?? '';
  } catch {
    return '';
  }
}

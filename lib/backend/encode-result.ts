import { ResultEncodeError } from '../errors/result-encode.error';
import type { TaskResultMeta } from '../protocol/result-meta';

/**
 * Runs a backend's encoder of a result, turning a value with no stored form (a function, a
 * symbol, a cycle) into ResultEncodeError: the worker then stores a FAILURE in its place, as
 * Celery stores an EncodeError, instead of taking it for an unreachable backend.
 */
export function encodeResult<T>(meta: Pick<TaskResultMeta, 'taskId' | 'status'>, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    // The encoders recurse: a value that contains itself ends in a stack overflow (RangeError).
    const reason = error instanceof RangeError ? 'it contains itself (a cycle) or is nested too deeply' : (error as Error).message;
    throw new ResultEncodeError(meta.taskId, meta.status, reason, { cause: error });
  }
}

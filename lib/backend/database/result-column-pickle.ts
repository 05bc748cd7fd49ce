import { ResultDecodeError } from '../../errors/result-decode.error';
import { ResultEncodeError } from '../../errors/result-encode.error';
import { isExceptionInfo, pythonExceptionDict } from '../../protocol/exception-info';
import { decodePickle, encodePickle, pythonTuple } from '../../protocol/pickle';
import { ExceptionInfo } from '../../protocol/result-meta';
import { EXCEPTION_STATES } from '../../protocol/task-states';

/**
 * The `celery_taskmeta.result` bytes for a result, as Celery's database backend writes them
 * (SQLAlchemy `PickleType`): a pickle of the value, SQL NULL for None. For FAILURE, RETRY and
 * REVOKED the value is the exception dict with `exc_message` as a tuple, like Python's.
 */
export function pickleResultColumn(taskId: string, status: string, result: unknown): Buffer | null {
  if (result === null || result === undefined) return null;
  const value = EXCEPTION_STATES.has(status) && isExceptionInfo(result) ? toPythonExceptionDict(result) : result;
  try {
    return encodePickle(value);
  } catch (error) {
    throw new ResultEncodeError(taskId, status, (error as Error).message, { cause: error });
  }
}

/**
 * Python's `prepare_exception` dict with `exc_message` as the tuple Python keeps, in Python's key
 * order, so the bytes equal what a Python worker writes (Fx db_row_failure).
 */
function toPythonExceptionDict(info: ExceptionInfo): Record<string, unknown> {
  const dict = pythonExceptionDict(info);
  if (Array.isArray(info.exc_message)) dict.exc_message = pythonTuple(info.exc_message);
  return dict;
}

/**
 * The value in a `celery_taskmeta.result` column, written by Python Celery or by us. Tuples come
 * back as arrays, so an exception's `exc_message` is an array as in `ExceptionInfo`.
 */
export function unpickleResultColumn(taskId: string, status: string, bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  try {
    return decodePickle(bytes);
  } catch (error) {
    throw new ResultDecodeError(
      `The stored ${status} result of task ${taskId} cannot be decoded: ${(error as Error).message}. ` +
        'Expected a pickle of plain values, as Celery writes with the json result_serializer. If a ' +
        "Python task returns custom objects or the app uses result_serializer='pickle', return " +
        'plain values (dicts, lists, numbers, strings) instead, or read this result from Python.',
      { cause: error },
    );
  }
}

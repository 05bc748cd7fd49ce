import type { ResultBackend } from '../../backend/result-backend.interface';
import { AsyncResult } from '../async-result';
import { ResultTuple } from '../../protocol/signature-dict';
import { GroupResult } from './group-result';

/** Celery's `result.as_tuple()`: how a published child is listed in its parent's `children`. */
export function asResultTuple(result: AsyncResult | GroupResult): ResultTuple {
  if (result instanceof GroupResult) return [[result.id, null], result.results.map(asResultTuple)];
  return taskResultTuple(result.id);
}

/** The result tuple of one task by id. */
export function taskResultTuple(taskId: string): ResultTuple {
  return [[taskId, null], null];
}

/** The task id a result tuple stands for (Celery's `result_from_tuple(...).id`). */
export function resultTupleId(tuple: unknown): string {
  return (tuple as ResultTuple)[0][0];
}

/**
 * The result a tuple stands for (Celery's `result_from_tuple`): a GroupResult when it lists
 * members, else an AsyncResult, with its `parent` when the tuple carries one. Throws on what is
 * no result tuple.
 */
export function resultFromTuple(tuple: unknown, backend: ResultBackend): AsyncResult | GroupResult {
  if (!Array.isArray(tuple) || !Array.isArray(tuple[0]) || typeof tuple[0][0] !== 'string') {
    throw new TypeError(`not a Celery result tuple ([[id, parent], children]): ${JSON.stringify(tuple)?.slice(0, 200)}`);
  }
  const [[id, parent], members] = tuple as ResultTuple;
  const result = Array.isArray(members)
    ? new GroupResult(id, members.map((member) => resultFromTuple(member, backend) as AsyncResult), backend)
    : new AsyncResult(id, backend);
  if (parent) result.parent = resultFromTuple(parent, backend);
  return result;
}

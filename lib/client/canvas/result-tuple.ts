import { AsyncResult } from '../async-result';
import { ResultTuple } from '../../protocol/signature-dict';
import { GroupResult } from './group-result';

/** Celery's `result.as_tuple()`: how a published child is listed in its parent's `children`. */
export function asResultTuple(result: AsyncResult | GroupResult): ResultTuple {
  if (result instanceof GroupResult) return [[result.id, null], result.results.map(asResultTuple)];
  return [[result.id, null], null];
}

/** The task id a result tuple stands for (Celery's `result_from_tuple(...).id`). */
export function resultTupleId(tuple: unknown): string {
  return (tuple as ResultTuple)[0][0];
}

import { ResultDecodeError } from '../../errors/result-decode.error';
import { decodePickle, encodePickle, PickledAsyncResult, PickledGroupResult } from '../../protocol/pickle';

/**
 * The `celery_tasksetmeta.result` bytes for a group: a pickled `celery.result.GroupResult` that
 * Python's `GroupResult.restore(group_id)` loads. Unlike Python's, it carries no pickled backend,
 * so no connection string is ever written into the row; Python then uses its app's backend.
 */
export function pickleGroupResult(groupId: string, childIds: readonly string[]): Buffer {
  return encodePickle(new PickledGroupResult(groupId, childIds.map((id) => new PickledAsyncResult(id))));
}

/** The task ids of a saved group, written by Python's `GroupResult.save()` or by us. */
export function unpickleGroupResult(groupId: string, bytes: Buffer): string[] {
  let value: unknown;
  try {
    value = decodePickle(bytes);
  } catch (error) {
    throw groupDecodeError(groupId, (error as Error).message, error);
  }
  if (!(value instanceof PickledGroupResult)) throw groupDecodeError(groupId, 'it is not a pickled GroupResult', undefined);
  return value.results.map((result) => result.id);
}

function groupDecodeError(groupId: string, reason: string, cause: unknown): ResultDecodeError {
  return new ResultDecodeError(
    `The saved group ${groupId} cannot be decoded: ${reason}. Expected a pickled celery.result.GroupResult ` +
      'of AsyncResults (what GroupResult.save() writes). Save the group again, or restore it from Python.',
    { cause },
  );
}

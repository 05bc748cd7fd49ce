import { parseCeleryJson } from '../../protocol/celery-json';
import { formatNaiveUtc, parseCeleryDate } from '../../protocol/celery-time';
import { isExceptionInfo, pythonExceptionDict } from '../../protocol/exception-info';
import { toPythonJson } from '../../protocol/python-json';
import { TaskResultMeta } from '../../protocol/result-meta';
import { stampOptions, stampsOfOptions } from '../../protocol/stamps';
import { EXCEPTION_STATES } from '../../protocol/task-states';

/** Celery's key prefixes (`BaseKeyValueStoreBackend.task_keyprefix`, `group_keyprefix`). */
export const TASK_KEY_PREFIX = 'celery-task-meta-';
export const GROUP_KEY_PREFIX = 'celery-taskset-meta-';

export function taskKey(taskId: string): string {
  return `${TASK_KEY_PREFIX}${taskId}`;
}

/** A group's key, or one of its chord keys with `suffix` `.j` (parts), `.t` (added parts), `.s` (size). */
export function groupKey(groupId: string, suffix: '' | '.j' | '.t' | '.s' = ''): string {
  return `${GROUP_KEY_PREFIX}${groupId}${suffix}`;
}

/**
 * The JSON a Celery 5.2.6 worker stores under `celery-task-meta-<id>` (`_get_result_meta` +
 * `task_id`, celery-protocol.md §4.2), key for key in its order: status, result, traceback,
 * children, date_done, group_id and parent_id when set, the `result_extended` fields when
 * `extended` (with Celery 5.3+'s stamps when the task had any), then task_id, which Python's
 * client requires.
 */
export function encodeRedisResultMeta(meta: TaskResultMeta, extended: boolean): string {
  const value: Record<string, unknown> = {
    status: meta.status,
    result: encodeResultValue(meta.status, meta.result),
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
    date_done: meta.dateDone ? formatNaiveUtc(meta.dateDone) : null,
  };
  if (meta.groupId) value.group_id = meta.groupId;
  if (meta.parentId) value.parent_id = meta.parentId;
  if (extended) {
    value.name = meta.name ?? null;
    value.args = meta.args ?? null;
    value.kwargs = meta.kwargs ?? null;
    value.worker = meta.worker ?? null;
    value.retries = meta.retries ?? null;
    value.queue = meta.queue ?? null;
    // Celery 5.3+ (`_get_result_meta`): the names, then each stamp under its own key.
    if (meta.stamps) Object.assign(value, stampOptions(meta.stamps));
  }
  value.task_id = meta.taskId;
  return toPythonJson(value);
}

/** Celery's `encode_result`: exceptions as `prepare_exception`'s dict, in its key order. */
export function encodeResultValue(status: string, result: unknown): unknown {
  if (!EXCEPTION_STATES.has(status) || !isExceptionInfo(result)) return result;
  return pythonExceptionDict(result);
}

/** Reads a stored meta back; throws on text that is not one (the caller names the key). */
export function decodeRedisResultMeta(taskId: string, text: string): TaskResultMeta {
  const value = parseCeleryJson(text) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || typeof value.status !== 'string') {
    throw new Error(`the value of ${taskKey(taskId)} is not Celery result meta (a JSON object with "status")`);
  }
  const text_ = (field: string) => (typeof value[field] === 'string' ? (value[field] as string) : null);
  const dateDone = text_('date_done');
  return {
    taskId,
    status: value.status,
    result: value.result ?? null,
    traceback: text_('traceback'),
    children: Array.isArray(value.children) ? value.children : [],
    dateDone: dateDone ? parseCeleryDate(dateDone) : null,
    groupId: text_('group_id'),
    parentId: text_('parent_id'),
    ...('name' in value ? { name: text_('name'), worker: text_('worker'), queue: text_('queue') } : {}),
    ...(Array.isArray(value.args) ? { args: value.args } : {}),
    ...(typeof value.kwargs === 'object' && value.kwargs !== null ? { kwargs: value.kwargs as Record<string, unknown> } : {}),
    ...(typeof value.retries === 'number' ? { retries: value.retries } : {}),
    ...(Array.isArray(value.stamped_headers) && value.stamped_headers.length > 0 ? { stamps: stampsOfOptions(value) } : {}),
  };
}

/** A saved group's value (`_save_group`): `{"result": [[group_id, null], [[[child, null], null], …]]}`. */
export function encodeSavedGroup(groupId: string, childIds: readonly string[]): string {
  return toPythonJson({ result: [[groupId, null], childIds.map((id) => [[id, null], null])] });
}

/** The child ids of a saved group; throws when the value is not one. */
export function decodeSavedGroup(text: string): string[] {
  const value = parseCeleryJson(text) as { result?: unknown };
  const result = value?.result;
  if (!Array.isArray(result) || !Array.isArray(result[1])) throw new Error('not a saved group: expected {"result": [[id, null], [children…]]}');
  return (result[1] as unknown[]).map((child) => childId(child));
}

function childId(tuple: unknown): string {
  // [[id, parent], children] for a task result; a nested group is [[id, null], [children]] too.
  if (Array.isArray(tuple) && Array.isArray(tuple[0]) && typeof tuple[0][0] === 'string') return tuple[0][0];
  throw new Error(`not a result tuple: ${JSON.stringify(tuple)}`);
}

/** A chord part as Celery's `on_chord_part_return` adds it to the `.j` set: `[1, task_id, state, result]`. */
export function encodeChordPart(meta: Pick<TaskResultMeta, 'taskId' | 'status' | 'result'>): string {
  return toPythonJson([1, meta.taskId, meta.status, encodeResultValue(meta.status, meta.result)]);
}

/** The task id of a `.j` member. */
export function chordPartTaskId(member: string): string {
  const value = parseCeleryJson(member);
  if (!Array.isArray(value) || typeof value[1] !== 'string') throw new Error(`not a chord part: ${member.slice(0, 200)}`);
  return value[1];
}

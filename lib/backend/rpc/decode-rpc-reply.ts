import type { MessageProperties } from '../../broker/broker.interface';
import { parseCeleryJson } from '../../protocol/celery-json';
import { TaskResultMeta } from '../../protocol/result-meta';
import { JSON_CONTENT_TYPE } from '../../protocol/task-message';
import { READY_STATES } from '../../protocol/task-states';

/** A reply turned into the task state it reports, or why it could not be. */
export type DecodedRpcReply = { ok: true; meta: TaskResultMeta } | { ok: false; reason: string };

/**
 * Reads one reply from the rpc:// reply queue, as Celery's client does
 * (`celery.backends.rpc.ResultConsumer`, celery-protocol.md §4.1): the task is named by the
 * `correlation_id` property, else by the body's `task_id` (old senders); `traceback` and
 * `children` may be missing (Fx compat_client_reads `rpc.minimal_reply`). Exception results stay
 * Celery's dict. Never throws: anything unreadable comes back with the reason.
 */
export function decodeRpcReply(body: Buffer, properties: MessageProperties, receivedAt: Date): DecodedRpcReply {
  const contentType = properties.contentType;
  if (contentType !== undefined && contentType !== JSON_CONTENT_TYPE) {
    return refused(`its content type is "${contentType}", not ${JSON_CONTENT_TYPE}; the sender must use result_serializer='json'`);
  }
  let payload: unknown;
  try {
    payload = parseCeleryJson(body.toString('utf8'));
  } catch (error) {
    return refused(`its body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return refused('its body is not a JSON object with task_id, status and result');
  }
  const fields = payload as Record<string, unknown>;
  const taskId = properties.correlationId || (typeof fields.task_id === 'string' ? fields.task_id : '');
  if (!taskId) return refused('it names no task: no correlation_id property and no task_id string in the body');
  if (typeof fields.status !== 'string' || fields.status === '') return refused(`its status is ${describe(fields.status)}, not a state name`);
  const status = fields.status;
  return {
    ok: true,
    meta: {
      taskId,
      status,
      result: fields.result ?? null,
      traceback: typeof fields.traceback === 'string' ? fields.traceback : null,
      children: Array.isArray(fields.children) ? fields.children : [],
      // Replies carry no date_done (Celery leaves it out of rpc replies): the time of receipt
      // stands in for ready states, and stays null for the others as in every backend.
      dateDone: READY_STATES.has(status) ? receivedAt : null,
    },
  };
}

function refused(reason: string): DecodedRpcReply {
  return { ok: false, reason };
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null || value === '') return JSON.stringify(value);
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

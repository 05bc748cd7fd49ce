import type { OutgoingMessage } from '../../broker/broker.interface';
import { encodeResult } from '../encode-result';
import { isExceptionInfo, pythonExceptionDict } from '../../protocol/exception-info';
import { toPythonJson } from '../../protocol/python-json';
import { TaskResultMeta } from '../../protocol/result-meta';
import { JSON_CONTENT_TYPE, UTF8_ENCODING } from '../../protocol/task-message';
import { EXCEPTION_STATES } from '../../protocol/task-states';

/** Where a reply goes: the task message's `reply_to`, and the `correlation_id` it is matched by. */
export interface ReplyDestination {
  replyTo: string;
  correlationId: string;
}

/**
 * The reply a Celery worker with the rpc:// backend sends for one task state
 * (`RPCBackend.store_result`, celery-protocol.md §4.1): to the default exchange with the
 * client's reply queue as routing key, no headers, and a body with exactly the keys and key order
 * of Celery 5.2.6 (Fx rpc_reply_success). Not mandatory: a client that has gone away must not
 * make the worker fail. Throws ResultEncodeError when the value has no JSON form.
 */
export function encodeRpcReply(meta: TaskResultMeta, destination: ReplyDestination, deliveryMode: 1 | 2): OutgoingMessage {
  return {
    exchange: '',
    routingKey: destination.replyTo,
    body: Buffer.from(encodeBody(meta), 'utf8'),
    properties: {
      contentType: JSON_CONTENT_TYPE,
      contentEncoding: UTF8_ENCODING,
      correlationId: destination.correlationId,
      deliveryMode,
      priority: 0,
    },
    mandatory: false,
  };
}

function encodeBody(meta: TaskResultMeta): string {
  const body = {
    task_id: meta.taskId,
    status: meta.status,
    result: EXCEPTION_STATES.has(meta.status) && isExceptionInfo(meta.result) ? pythonExceptionDict(meta.result) : meta.result,
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
  };
  return encodeResult(meta, () => toPythonJson(body));
}

import { MessageProperties } from './message-properties';
import { AUTH_CONTENT_ENCODING, AUTH_CONTENT_TYPE, MessageSigner, signPayload } from './auth-serializer';
import { formatCeleryDate } from './celery-time';
import { toPythonJson } from './python-json';
import { argsRepr, kwargsRepr } from './python-repr';
import type { TaskEmbed } from './signature-dict';
import { JSON_CONTENT_TYPE, TaskMessage, UTF8_ENCODING } from './task-message';

/** A task message ready for the broker: AMQP properties (with headers) and the body bytes. */
export interface EncodedTaskMessage {
  properties: MessageProperties;
  body: Buffer;
}

/** The embed of a task with no workflow (most of them), written once. */
const NO_WORKFLOW_JSON = toPythonJson({ callbacks: null, errbacks: null, chain: null, chord: null });

function embedJson({ callbacks, errbacks, chain, chord }: TaskEmbed): string {
  if (callbacks === null && errbacks === null && chain === null && chord === null) return NO_WORKFLOW_JSON;
  return toPythonJson({ callbacks, errbacks, chain, chord }, '$[2]');
}

/**
 * Encodes Celery message protocol v2 (celery-protocol.md §2), byte-identical in its body to what
 * Celery 5.2.6 publishes: `[args, kwargs, {"callbacks", "errbacks", "chain", "chord"}]`. With a
 * signer, the body is that JSON signed with Celery's `auth` serializer (`task_serializer='auth'`,
 * celery-protocol.md §10); the headers are never signed, in Celery either.
 */
export function encodeTaskMessage(message: TaskMessage, signer: MessageSigner | null = null): EncodedTaskMessage {
  const headers: Record<string, unknown> = {
    lang: 'js',
    task: message.task,
    id: message.id,
    shadow: message.shadow,
    eta: message.eta ? formatCeleryDate(message.eta) : null,
    expires: message.expires ? formatCeleryDate(message.expires) : null,
    group: message.group,
    group_index: message.groupIndex,
    retries: message.retries,
    timelimit: message.timeLimit,
    root_id: message.rootId ?? message.id,
    parent_id: message.parentId,
    argsrepr: message.argsrepr ?? argsRepr(message.args),
    kwargsrepr: message.kwargsrepr ?? kwargsRepr(message.kwargs),
    origin: message.origin,
    ignore_result: message.ignoreResult,
    ...message.customHeaders,
  };
  const json = Buffer.from(`[${toPythonJson(message.args, '$[0]')}, ${toPythonJson(message.kwargs, '$[1]')}, ${embedJson(message.embed)}]`, 'utf8');
  const properties: MessageProperties = {
    contentType: signer ? AUTH_CONTENT_TYPE : JSON_CONTENT_TYPE,
    contentEncoding: signer ? AUTH_CONTENT_ENCODING : UTF8_ENCODING,
    deliveryMode: 2,
    correlationId: message.correlationId ?? message.id,
    headers,
  };
  if (message.priority !== null) properties.priority = message.priority;
  if (message.replyTo) properties.replyTo = message.replyTo;
  if (message.expires) properties.expiration = String(Math.max(0, message.expires.getTime() - Date.now()));
  return { properties, body: signer ? signPayload(json, JSON_CONTENT_TYPE, UTF8_ENCODING, signer) : json };
}

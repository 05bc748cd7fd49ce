import type { MessageProperties, OutgoingMessage } from '../broker/broker.interface';
import { parseCeleryJson } from '../protocol/celery-json';
import { toPythonJson } from '../protocol/python-json';
import { JSON_CONTENT_TYPE, UTF8_ENCODING } from '../protocol/task-message';
import { PIDBOX_EXCHANGE } from './pidbox-topology';

/** A command's keyword arguments, as a request's `arguments` object carries them. */
export type ControlArguments = Record<string, unknown>;

/** Where a reply goes: `reply_to` of a request. */
export interface ReplyRoute {
  exchange: string;
  routingKey: string;
}

/**
 * One remote-control request (kombu's pidbox message, celery-protocol.md §9.1): a command name
 * and its keyword arguments, who it is for, and where replies go when the sender wants them.
 */
export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** Node names it is for; null: every node (unless `pattern` says otherwise). */
  destination: string[] | null;
  /** Selects nodes by name when `destination` is null, read with `matcher`. */
  pattern: string | null;
  /** `glob` or `pcre`. */
  matcher: string | null;
  /** Reply ticket and route: both set when the sender wants replies, both null otherwise. */
  ticket: string | null;
  replyTo: ReplyRoute | null;
}

/** A request as it came off the wire, with the sender's `clock` header (0 when absent). */
export type DecodedControlRequest = { ok: true; request: ControlRequest; clock: number } | { ok: false; reason: string };

/** Replies from one request, as the sender receives them: `{nodename: value}` each. */
export type DecodedControlReply = { ok: true; ticket: string | null; clock: number; body: Record<string, unknown> } | { ok: false; reason: string };

/**
 * The request Python's `app.control.broadcast()` publishes (kombu `Mailbox._publish`): to the
 * `celery.pidbox` fanout exchange, body keys in kombu's order, `ticket` and `reply_to` only when
 * replies are wanted, headers `clock` and `expires` (epoch seconds, 0 for none). Byte for byte
 * what 5.2.6 sends (Fx worker_pidbox_*). Not mandatory: with no worker running, nobody gets it.
 */
export function encodeControlRequest(request: ControlRequest, headers: { clock: number; expires: number }): OutgoingMessage {
  const body: Record<string, unknown> = {
    method: request.method,
    arguments: request.arguments,
    destination: request.destination,
    pattern: request.pattern,
    matcher: request.matcher,
  };
  if (request.replyTo) {
    body.ticket = request.ticket;
    body.reply_to = { exchange: request.replyTo.exchange, routing_key: request.replyTo.routingKey };
  }
  return {
    exchange: PIDBOX_EXCHANGE.name,
    routingKey: '',
    body: Buffer.from(toPythonJson(body), 'utf8'),
    properties: {
      contentType: JSON_CONTENT_TYPE,
      contentEncoding: UTF8_ENCODING,
      deliveryMode: 2,
      priority: 0,
      headers: { clock: headers.clock, expires: headers.expires },
    },
    mandatory: false,
  };
}

/**
 * Reads a request as a 5.2.6 worker does (kombu `Node.handle_message`): only `method` is
 * required; `arguments`, `destination`, `pattern`, `matcher`, headers may all be missing (Fx
 * compat_pidbox_raw `minimal_ping_no_headers`). Never throws: anything unreadable comes back
 * with the reason.
 */
export function decodeControlRequest(body: Buffer, properties: MessageProperties): DecodedControlRequest {
  const fields = readJsonObject(body, properties);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  if (typeof fields.method !== 'string' || fields.method === '') return { ok: false, reason: 'it has no "method" string' };
  const args = fields.arguments ?? {};
  if (typeof args !== 'object' || Array.isArray(args)) return { ok: false, reason: '"arguments" is not an object' };
  const destination = readDestination(fields.destination);
  if (destination === undefined) return { ok: false, reason: '"destination" is not a list of node names' };
  const replyTo = readReplyRoute(fields.reply_to);
  if (replyTo === undefined) return { ok: false, reason: '"reply_to" is not {"exchange", "routing_key"}' };
  return {
    ok: true,
    request: {
      method: fields.method,
      arguments: args as Record<string, unknown>,
      destination,
      pattern: typeof fields.pattern === 'string' ? fields.pattern : null,
      matcher: typeof fields.matcher === 'string' ? fields.matcher : null,
      ticket: replyTo && typeof fields.ticket === 'string' ? fields.ticket : null,
      replyTo,
    },
    clock: readClock(properties.headers?.clock),
  };
}

/**
 * The reply a 5.2.6 worker publishes (kombu `Node.reply` / `Mailbox._publish_reply`): to the
 * request's `reply_to`, body `{nodename: value}`, headers `ticket` and `clock`, transient, not
 * mandatory (a client that has gone away must not trouble the worker). Throws JsonEncodingError
 * when the value has no JSON form.
 */
export function encodeControlReply(nodename: string, value: unknown, to: { ticket: string | null; replyTo: ReplyRoute }, clock: number): OutgoingMessage {
  return {
    exchange: to.replyTo.exchange,
    routingKey: to.replyTo.routingKey,
    body: Buffer.from(toPythonJson({ [nodename]: value }), 'utf8'),
    properties: {
      contentType: JSON_CONTENT_TYPE,
      contentEncoding: UTF8_ENCODING,
      deliveryMode: 1,
      priority: 0,
      headers: { ticket: to.ticket, clock },
    },
    mandatory: false,
  };
}

/** Reads a reply as kombu's `Mailbox._collect` does: matched to its request by the `ticket` header. */
export function decodeControlReply(body: Buffer, properties: MessageProperties): DecodedControlReply {
  const fields = readJsonObject(body, properties);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const ticket = properties.headers?.ticket;
  return { ok: true, ticket: typeof ticket === 'string' ? ticket : null, clock: readClock(properties.headers?.clock), body: fields };
}

/** The body as a JSON object, or why it is not one. */
function readJsonObject(body: Buffer, properties: MessageProperties): Record<string, unknown> | string {
  if (properties.contentType !== undefined && properties.contentType !== JSON_CONTENT_TYPE) {
    return `its content type is "${properties.contentType}", not ${JSON_CONTENT_TYPE} (pickle and YAML are never deserialised)`;
  }
  let parsed: unknown;
  try {
    parsed = parseCeleryJson(body.toString('utf8'));
  } catch (error) {
    return `its body is not valid JSON (${(error as Error).message})`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'its body is not a JSON object';
  return parsed as Record<string, unknown>;
}

/** null for none; a lone name is taken as a list of one; undefined when unreadable. */
function readDestination(value: unknown): string[] | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((name) => typeof name === 'string')) return value as string[];
  return undefined;
}

function readReplyRoute(value: unknown): ReplyRoute | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') return undefined;
  const { exchange, routing_key: routingKey } = value as Record<string, unknown>;
  if (typeof exchange !== 'string' || typeof routingKey !== 'string') return undefined;
  return { exchange, routingKey };
}

/** A clock header of any integer type; 0 when missing (kombu's `headers.get('clock') or 0`). */
function readClock(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

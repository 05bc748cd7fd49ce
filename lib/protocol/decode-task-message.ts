import { inflateSync } from 'node:zlib';
import { MessageProperties } from './message-properties';
import { InvalidTaskMessageError } from '../errors/invalid-task-message.error';
import { MessageSecurityError } from '../errors/message-security.error';
import { AUTH_CONTENT_TYPE, MessageVerifier, SignatureRejection, verifyPayload } from './auth-serializer';
import { parseCeleryDate } from './celery-time';
import { parseCeleryJson } from './celery-json';
import { SignatureDict, TaskEmbed } from './signature-dict';
import { JSON_CONTENT_TYPE, TaskMessage, V2_HEADER_NAMES } from './task-message';

const KNOWN_HEADERS: ReadonlySet<string> = new Set<string>([...V2_HEADER_NAMES, 'compression']);
const ZLIB_COMPRESSION = new Set(['application/x-gzip', 'zlib', 'gzip']);

type Fields = Record<string, unknown>;

/**
 * Decodes a task message of protocol v2 (headers + `[args, kwargs, embed]`) or v1 (everything in
 * a body dict, what celery-php and old clients send; celery-protocol.md §3). Only JSON is
 * accepted, plain or signed with Celery's `auth` serializer (§10) when `signatures` has trusted
 * certificates: pickle, YAML and anything else are refused before any parsing.
 * Throws InvalidTaskMessageError with a reason a person understands, or MessageSecurityError when
 * the message is unsigned although signatures are required, or its signature does not verify.
 */
export function decodeTaskMessage(
  body: Buffer,
  properties: MessageProperties,
  limits: DecodeLimits = {},
  signatures: SignaturePolicy = UNSIGNED_ONLY,
): TaskMessage {
  const headers = (properties.headers ?? {}) as Fields;
  const hint = { id: stringOrNull(headers.id), task: stringOrNull(headers.task) };
  const maxBytes = limits.maxBytes ?? Infinity;
  if (body.length > maxBytes) throw tooLarge(hint, body.length, maxBytes);
  const contentType = properties.contentType ?? '';
  const signed = contentType === AUTH_CONTENT_TYPE && signatures.verifier !== null;
  if (contentType !== JSON_CONTENT_TYPE && !signed) {
    if (contentType === AUTH_CONTENT_TYPE) {
      // Like any content type not accepted (signing is not configured): an invalid message.
      throw invalid(hint, `content type "${AUTH_CONTENT_TYPE}" is not accepted: the message is signed (Celery's auth serializer) and this worker trusts no certificate; configure security.certStore to accept signed messages`);
    }
    throw new InvalidTaskMessageError(
      `content type "${contentType || '(none)'}" is not accepted; only ${JSON_CONTENT_TYPE} is (pickle and YAML are never deserialised). Send the task with Celery's json serializer.`,
      hint.id,
      hint.task,
    );
  }
  if (!signed && signatures.required) {
    throw refused(hint, 'it is not signed, and this worker accepts signed messages only (security.required); send it with Celery\'s auth serializer');
  }
  const serialized = decompress(body, headers, hint, maxBytes);
  const payload = parseJson(signed ? unwrapSigned(serialized, signatures.verifier!, hint) : serialized, hint);
  if (Array.isArray(payload)) {
    if (typeof headers.task !== 'string') {
      throw invalid(hint, 'the body is a protocol v2 array but the "task" header is missing');
    }
    return fromV2(headers, payload, properties);
  }
  if (isPlainObject(payload)) return fromV1(headers, payload, properties);
  throw invalid(hint, `the body must be a JSON array [args, kwargs, embed] (protocol v2) or an object (protocol v1), not ${describe(payload)}`);
}

/**
 * Which signed messages a worker accepts (Celery's `accept_content` with `auth`, and the
 * `security_cert_store`): with a verifier, signed ones whose signer it trusts; with `required`,
 * only those.
 */
export interface SignaturePolicy {
  verifier: MessageVerifier | null;
  required: boolean;
}

/** Celery's default `accept_content = ['json']`: plain JSON only, signed messages refused. */
export const UNSIGNED_ONLY: SignaturePolicy = { verifier: null, required: false };

/** The JSON a signed payload wraps, once its signature is verified. */
function unwrapSigned(payload: Buffer, verifier: MessageVerifier, hint: Hint): Buffer {
  let verified;
  try {
    verified = verifyPayload(payload, verifier);
  } catch (error) {
    if (error instanceof SignatureRejection) throw refused(hint, error.message);
    throw error;
  }
  if (verified.contentType !== JSON_CONTENT_TYPE) {
    throw invalid(hint, `the signed payload holds content type "${verified.contentType}"; only ${JSON_CONTENT_TYPE} is accepted inside a signature`);
  }
  return verified.body;
}

function refused(hint: Hint, reason: string): MessageSecurityError {
  return new MessageSecurityError(reason, hint.id, hint.task);
}

/** Bounds on what a message may cost to decode. */
export interface DecodeLimits {
  /** Largest body accepted, compressed and decompressed, in bytes; larger ones are refused unparsed. */
  maxBytes?: number;
}

function tooLarge(hint: Hint, size: number | string, maxBytes: number): InvalidTaskMessageError {
  return invalid(hint, `the body is ${size} bytes, over the limit of ${maxBytes} (the worker's maxMessageBytes); send large data by reference instead`);
}

function decompress(body: Buffer, headers: Fields, hint: Hint, maxBytes: number): Buffer {
  const compression = headers.compression;
  if (compression === undefined || compression === null) return body;
  if (typeof compression === 'string' && ZLIB_COMPRESSION.has(compression)) {
    try {
      // Bounded, so a small compressed body cannot inflate into gigabytes.
      return inflateSync(body, Number.isFinite(maxBytes) ? { maxOutputLength: maxBytes } : {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(hint, 'more than that once decompressed, and', maxBytes);
      throw invalid(hint, 'the body is not valid zlib data although the "compression" header says so');
    }
  }
  throw invalid(hint, `compression "${String(compression)}" is not supported; use zlib (application/x-gzip) or none`);
}

function parseJson(body: Buffer, hint: Hint): unknown {
  try {
    return parseCeleryJson(body.toString('utf8'));
  } catch (error) {
    throw invalid(hint, `the body is not valid JSON (${(error as Error).message})`);
  }
}

interface Hint {
  id: string | null;
  task: string | null;
}

function invalid(hint: Hint, reason: string): InvalidTaskMessageError {
  return new InvalidTaskMessageError(reason, hint.id, hint.task);
}

function fromV2(headers: Fields, payload: unknown[], properties: MessageProperties): TaskMessage {
  const hint = { id: stringOrNull(headers.id), task: stringOrNull(headers.task) };
  if (payload.length !== 3) {
    throw invalid(hint, `a protocol v2 body must have exactly 3 elements [args, kwargs, embed], it has ${payload.length}`);
  }
  const [args, kwargs, embed] = payload;
  const customHeaders: Fields = {};
  for (const name of Object.keys(headers)) {
    if (!KNOWN_HEADERS.has(name)) setOwn(customHeaders, name, headers[name]);
  }
  return build(headers, { args, kwargs, embed }, customHeaders, properties, hint);
}

/** v1 and the "hybrid" form (dict body, with or without v2 headers): body fields, headers win. */
function fromV1(headers: Fields, body: Fields, properties: MessageProperties): TaskMessage {
  const merged: Fields = { ...body, ...headers };
  if (merged.group === undefined && body.taskset !== undefined) merged.group = body.taskset;
  const hint = { id: stringOrNull(merged.id), task: stringOrNull(merged.task) };
  const embed = { callbacks: body.callbacks ?? null, errbacks: body.errbacks ?? null, chain: null, chord: body.chord ?? null };
  const customHeaders: Fields = {};
  for (const name of Object.keys(headers)) {
    if (!KNOWN_HEADERS.has(name)) setOwn(customHeaders, name, headers[name]);
  }
  return build(merged, { args: body.args ?? [], kwargs: body.kwargs ?? {}, embed }, customHeaders, properties, hint);
}

function build(
  fields: Fields,
  payload: { args: unknown; kwargs: unknown; embed: unknown },
  customHeaders: Fields,
  properties: MessageProperties,
  hint: Hint,
): TaskMessage {
  const id = requireString(fields, 'id', hint);
  const task = requireString(fields, 'task', hint);
  if (!Array.isArray(payload.args)) throw invalid(hint, `args must be a JSON array, not ${describe(payload.args)}`);
  if (!isPlainObject(payload.kwargs)) throw invalid(hint, `kwargs must be a JSON object, not ${describe(payload.kwargs)}`);
  return {
    id,
    task,
    args: payload.args,
    kwargs: payload.kwargs,
    embed: readEmbed(payload.embed, hint),
    rootId: optionalString(fields, 'root_id', hint),
    parentId: optionalString(fields, 'parent_id', hint),
    group: optionalString(fields, 'group', hint),
    groupIndex: optionalInteger(fields, 'group_index', hint),
    retries: optionalInteger(fields, 'retries', hint) ?? 0,
    eta: optionalDate(fields, 'eta', hint),
    expires: optionalDate(fields, 'expires', hint),
    timeLimit: readTimeLimit(fields.timelimit, hint),
    shadow: optionalString(fields, 'shadow', hint),
    origin: optionalString(fields, 'origin', hint),
    ignoreResult: fields.ignore_result === true,
    argsrepr: optionalString(fields, 'argsrepr', hint),
    kwargsrepr: optionalString(fields, 'kwargsrepr', hint),
    customHeaders,
    replyTo: properties.replyTo || null,
    correlationId: properties.correlationId || null,
    priority: typeof properties.priority === 'number' ? properties.priority : null,
  };
}

function requireString(fields: Fields, name: string, hint: Hint): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(hint, `"${name}" must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function optionalString(fields: Fields, name: string, hint: Hint): string | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(hint, `"${name}" must be a string or null, got ${describe(value)}`);
  return value;
}

function optionalInteger(fields: Fields, name: string, hint: Hint): number | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(hint, `"${name}" must be a non-negative integer or null, got ${describe(value)}`);
  }
  return value;
}

function optionalDate(fields: Fields, name: string, hint: Hint): Date | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  const date = typeof value === 'string' ? parseCeleryDate(value) : null;
  if (!date) {
    throw invalid(hint, `"${name}" must be an ISO-8601 date such as 2026-11-24T08:34:42.672159+00:00, got ${describe(value)}`);
  }
  return date;
}

function readTimeLimit(value: unknown, hint: Hint): [number | null, number | null] {
  if (value === undefined || value === null) return [null, null];
  const valid =
    Array.isArray(value) && value.length === 2 && value.every((limit) => limit === null || (typeof limit === 'number' && limit >= 0));
  if (!valid) throw invalid(hint, `"timelimit" must be [hard seconds or null, soft seconds or null], got ${describe(value)}`);
  return value as [number | null, number | null];
}

function readEmbed(value: unknown, hint: Hint): TaskEmbed {
  if (value === undefined || value === null) return { callbacks: null, errbacks: null, chain: null, chord: null };
  if (!isPlainObject(value)) throw invalid(hint, `the embed (third body element) must be an object, got ${describe(value)}`);
  return {
    callbacks: signatureList(value.callbacks, 'callbacks', hint),
    errbacks: signatureList(value.errbacks, 'errbacks', hint),
    chain: signatureList(value.chain, 'chain', hint),
    chord: value.chord === undefined || value.chord === null ? null : signature(value.chord, 'chord', hint),
  };
}

function signatureList(value: unknown, name: string, hint: Hint): SignatureDict[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw invalid(hint, `embed.${name} must be a list of signatures or null, got ${describe(value)}`);
  return value.map((item, index) => signature(item, `${name}[${index}]`, hint));
}

function signature(value: unknown, name: string, hint: Hint): SignatureDict {
  if (!isPlainObject(value) || typeof value.task !== 'string') {
    throw invalid(hint, `embed.${name} must be a signature object with a "task" name, got ${describe(value)}`);
  }
  return {
    task: value.task,
    args: Array.isArray(value.args) ? value.args : [],
    kwargs: isPlainObject(value.kwargs) ? value.kwargs : {},
    options: isPlainObject(value.options) ? value.options : {},
    subtask_type: typeof value.subtask_type === 'string' ? value.subtask_type : null,
    immutable: value.immutable === true,
    ...(value.chord_size !== undefined ? { chord_size: value.chord_size as number | null } : {}),
  };
}

/** Assigns as an own property: a header named `__proto__` stays a header, never a prototype. */
function setOwn(target: Fields, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

import { toPythonJson } from '../protocol/python-json';
import type { MessageProperties, OutgoingMessage } from './broker.interface';

/**
 * A message as kombu's virtual transports carry it — in Redis lists, the unacked hash and on fanout
 * channels, and (base64-encoded once more) as an SQS message body — (kombu
 * `virtual.Channel.prepare_message` + `_inplace_augment_message`): JSON with the body
 * base64-encoded, the AMQP properties in snake_case plus `delivery_info`, `body_encoding` and a
 * `delivery_tag` (a UUID: the message's key in Redis's unacked hash; SQS uses the receipt handle).
 */
export interface KombuEnvelope {
  body: string;
  'content-encoding'?: string | null;
  'content-type'?: string | null;
  headers?: Record<string, unknown> | null;
  properties: KombuEnvelopeProperties;
}

export interface KombuEnvelopeProperties {
  correlation_id?: string;
  reply_to?: string;
  delivery_mode?: number;
  delivery_info: { exchange: string; routing_key: string; redelivered?: boolean };
  priority?: number;
  expiration?: string;
  body_encoding?: string;
  delivery_tag: string;
  [other: string]: unknown;
}

/**
 * The envelope of a message we publish, key for key in kombu's order (Python dicts keep
 * insertion order and the Python side never sorts), so a list entry written by us is
 * byte-identical to one written by Celery 5.2.6 except for the random tag.
 */
export function encodeKombuEnvelope(message: OutgoingMessage, deliveryTag: string): KombuEnvelope {
  const { properties } = message;
  const envelopeProperties: KombuEnvelopeProperties = {
    ...(properties.correlationId !== undefined ? { correlation_id: properties.correlationId } : {}),
    ...(properties.replyTo !== undefined ? { reply_to: properties.replyTo } : {}),
    ...(properties.deliveryMode !== undefined ? { delivery_mode: properties.deliveryMode } : {}),
    ...(properties.expiration !== undefined ? { expiration: properties.expiration } : {}),
    delivery_info: { exchange: message.exchange, routing_key: message.routingKey },
    priority: properties.priority ?? 0,
    body_encoding: 'base64',
    delivery_tag: deliveryTag,
  };
  return {
    body: message.body.toString('base64'),
    'content-encoding': properties.contentEncoding ?? null,
    'content-type': properties.contentType ?? null,
    headers: properties.headers ?? {},
    properties: envelopeProperties,
  };
}

/** The envelope as JSON text, written as Python's `json.dumps` writes it. */
export function serializeKombuEnvelope(envelope: KombuEnvelope): string {
  return toPythonJson(envelope);
}

/** A list entry (or channel message) read back. Throws on text that is not a kombu envelope. */
export function parseKombuEnvelope(text: string): KombuEnvelope {
  const envelope = JSON.parse(text) as KombuEnvelope;
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.properties !== 'object' || envelope.properties === null) {
    throw new Error('not a kombu message envelope: expected a JSON object with "body" and "properties"');
  }
  return envelope;
}

/** The body bytes (kombu `decode_body`: base64 when `body_encoding` says so, else the text itself). */
export function envelopeBody(envelope: KombuEnvelope): Buffer {
  const body = envelope.body ?? '';
  return envelope.properties.body_encoding === 'base64' ? Buffer.from(body, 'base64') : Buffer.from(String(body), 'utf8');
}

/** The AMQP properties carried by an envelope, in our camelCase form. */
export function envelopeProperties(envelope: KombuEnvelope): MessageProperties {
  const props = envelope.properties;
  const result: MessageProperties = {};
  if (envelope['content-type'] != null) result.contentType = envelope['content-type'];
  if (envelope['content-encoding'] != null) result.contentEncoding = envelope['content-encoding'];
  if (envelope.headers != null) result.headers = envelope.headers;
  if (props.delivery_mode === 1 || props.delivery_mode === 2) result.deliveryMode = props.delivery_mode;
  if (typeof props.priority === 'number') result.priority = props.priority;
  if (typeof props.correlation_id === 'string') result.correlationId = props.correlation_id;
  if (typeof props.reply_to === 'string') result.replyTo = props.reply_to;
  if (typeof props.expiration === 'string') result.expiration = props.expiration;
  return result;
}

/**
 * Marks a message given back to its queue as redelivered, where kombu's `_do_restore_message`
 * does: in `delivery_info` and, oddly, also as a `redelivered` message header.
 */
export function markRedelivered(envelope: KombuEnvelope): KombuEnvelope {
  return {
    ...envelope,
    headers: envelope.headers ? { ...envelope.headers, redelivered: true } : envelope.headers,
    properties: { ...envelope.properties, delivery_info: { ...envelope.properties.delivery_info, redelivered: true } },
  };
}

import { encodeKombuEnvelope, type KombuEnvelope, parseKombuEnvelope, serializeKombuEnvelope } from '../kombu-envelope';
import type { OutgoingMessage } from '../broker.interface';

/**
 * kombu's SQS message body (`_put` with `sqs_base64_encoding`, its default): the kombu envelope
 * as JSON, base64-encoded once more (SQS bodies must be XML-safe text).
 */
export function encodeSqsBody(message: OutgoingMessage, deliveryTag: string): string {
  return Buffer.from(serializeKombuEnvelope(encodeKombuEnvelope(message, deliveryTag)), 'utf8').toString('base64');
}

/**
 * A received body back to its envelope, as kombu's `_optional_b64_decode` + `loads`: base64 when
 * it round-trips (so a producer with `sqs_base64_encoding=False` is read too), else the text
 * itself. JSON that is not a kombu envelope (not sent by kombu) becomes the body of a plain
 * envelope, as kombu's `_message_to_python` does. Throws on text that is not JSON.
 */
export function decodeSqsBody(text: string): KombuEnvelope {
  const decoded = Buffer.from(text, 'base64');
  const json = decoded.toString('base64') === text ? decoded.toString('utf8') : text;
  try {
    return parseKombuEnvelope(json);
  } catch (error) {
    const value: unknown = JSON.parse(json); // not JSON at all: the caller reports it
    if (typeof value === 'object' && value !== null && !('properties' in value)) {
      return { body: json, properties: { delivery_info: { exchange: '', routing_key: '' }, delivery_tag: '' }, 'content-type': 'application/json', 'content-encoding': 'utf-8' };
    }
    throw error;
  }
}

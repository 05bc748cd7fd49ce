import type { ConfirmChannel } from 'amqplib';
import type { OutgoingMessage } from '../broker.interface';
import { toPublishOptions } from './message-properties';
import { withPyAmqpIntegerTypes } from './py-amqp-integers';

/** The part of amqplib's channel internals this reaches into (amqplib 0.10 – 2.x). */
interface AmqplibChannelInternals {
  sendMessage?: (fields: object, properties: object, content: Buffer) => boolean;
  pushConfirmCallback?: (callback: (error: unknown) => void) => void;
}

/** What amqplib writes when a message has no headers: an empty table (it always passes one). */
const NO_HEADERS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Publishes on a confirm channel as `channel.publish(exchange, routingKey, body, options, callback)`
 * does, writing the same bytes, without one cost of that path: amqplib's `Args.publish` wraps the
 * headers as `Object.create(headers)`, so every message's own headers object becomes a prototype,
 * which V8 reshapes on the spot and whose keys it cannot cache for the `for…in` of the header
 * encoder. With a new headers object per message (every task has its own id) that cost 7–17 µs
 * a message, more than the rest of amqplib's work; the raw benchmark never paid it, as it sends
 * one headers object again and again. The fields go to amqplib's `sendMessage` as
 * `Args.publish` would build them, with the headers object itself (for…in over the wrapper
 * enumerates exactly its keys, in the same order). Falls back to `channel.publish` when amqplib's
 * internals are not the expected ones (a future version): only the speed-up is lost.
 * Returns amqplib's answer: false once its write buffer is full.
 */
export function publishOnConfirmChannel(channel: ConfirmChannel, message: OutgoingMessage, onConfirm: (error: unknown) => void): boolean {
  const internals = channel as unknown as AmqplibChannelInternals;
  if (typeof internals.sendMessage !== 'function' || typeof internals.pushConfirmCallback !== 'function') {
    return channel.publish(message.exchange, message.routingKey, message.body, toPublishOptions(message), onConfirm);
  }
  const fields = toPublishFields(message);
  // ConfirmChannel.publish's order: the frames first (a refusal throws before a confirm slot is taken), then the callback.
  const writable = internals.sendMessage.call(channel, fields, fields, message.body);
  internals.pushConfirmCallback.call(channel, onConfirm);
  return writable;
}

/**
 * basic.publish's method fields and basic properties in one object, as amqplib's `Args.publish`
 * returns them for `toPublishOptions(message)` (its CC/BCC, messageId, timestamp, type, userId and
 * appId are never set by us, so they stay undefined and out of the frame).
 */
export function toPublishFields(message: OutgoingMessage) {
  const properties = message.properties;
  const deliveryMode = properties.deliveryMode;
  return {
    exchange: message.exchange,
    routingKey: message.routingKey,
    mandatory: message.mandatory ?? true,
    immediate: false,
    ticket: undefined,
    contentType: properties.contentType,
    contentEncoding: properties.contentEncoding,
    headers: withPyAmqpIntegerTypes(properties.headers) ?? NO_HEADERS,
    deliveryMode: typeof deliveryMode === 'number' ? deliveryMode : deliveryMode ? 2 : undefined,
    priority: properties.priority,
    correlationId: properties.correlationId,
    replyTo: properties.replyTo,
    expiration: properties.expiration === undefined ? undefined : String(properties.expiration),
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  };
}

import type { MessageProperties as AmqplibProperties, Options } from 'amqplib';
import type { MessageProperties, OutgoingMessage } from '../broker.interface';
import { withPyAmqpIntegerTypes } from './py-amqp-integers';

/**
 * amqplib's publish options for a message: its properties as they are, plus `mandatory` so an
 * unroutable message comes back (basic.return) instead of vanishing.
 */
export function toPublishOptions(message: OutgoingMessage): Options.Publish {
  const properties = message.properties;
  // Undefined fields are left out of the frame by amqplib, so an absent priority stays absent (Celery trap §2.2).
  return {
    mandatory: message.mandatory ?? true,
    contentType: properties.contentType,
    contentEncoding: properties.contentEncoding,
    headers: withPyAmqpIntegerTypes(properties.headers),
    deliveryMode: properties.deliveryMode,
    priority: properties.priority,
    correlationId: properties.correlationId,
    replyTo: properties.replyTo,
    expiration: properties.expiration,
  };
}

/** The properties of a delivered message that Celery uses, leaving out those the sender did not set. */
export function toMessageProperties(raw: AmqplibProperties): MessageProperties {
  const properties: MessageProperties = {};
  if (raw.contentType !== undefined) properties.contentType = raw.contentType;
  if (raw.contentEncoding !== undefined) properties.contentEncoding = raw.contentEncoding;
  if (raw.headers !== undefined) properties.headers = raw.headers;
  if (raw.deliveryMode !== undefined) properties.deliveryMode = raw.deliveryMode;
  if (raw.priority !== undefined) properties.priority = raw.priority;
  if (raw.correlationId !== undefined) properties.correlationId = raw.correlationId;
  if (raw.replyTo !== undefined) properties.replyTo = raw.replyTo;
  if (raw.expiration !== undefined) properties.expiration = raw.expiration;
  return properties;
}

import type { OutgoingMessage } from '../broker/broker.interface';
import { toPythonJson } from '../protocol/python-json';
import { JSON_CONTENT_TYPE, UTF8_ENCODING } from '../protocol/task-message';
import type { CeleryEvent } from './celery-event';
import { EVENT_EXCHANGE } from './event-exchange';

/**
 * An event, or a batch of task events (a JSON array), as Celery 5.2.6 publishes it
 * (celery-protocol.md §8.1, Fx worker_events_envelopes): to `celeryev`, JSON in UTF-8, transient
 * (delivery_mode 1), priority 0, header `hostname` = the sender. Not mandatory: events that no
 * monitor listens to are simply dropped by RabbitMQ, as with kombu.
 */
export function encodeEventMessage(routingKey: string, hostname: string, payload: CeleryEvent | readonly CeleryEvent[]): OutgoingMessage {
  return {
    exchange: EVENT_EXCHANGE.name,
    routingKey,
    body: Buffer.from(toPythonJson(payload), 'utf8'),
    properties: {
      contentType: JSON_CONTENT_TYPE,
      contentEncoding: UTF8_ENCODING,
      deliveryMode: 1,
      priority: 0,
      headers: { hostname },
    },
    mandatory: false,
  };
}

import type { QueueDeclaration } from '../broker/broker.interface';
import { EVENT_EXCHANGE } from '../events/event-exchange';

/** Celery's `event_queue_ttl` (5 s) and `event_queue_expires` (60 s), as RabbitMQ arguments. */
const EVENT_QUEUE_ARGUMENTS = { 'x-message-ttl': 5_000, 'x-expires': 60_000 } as const;

/**
 * A monitor's own queue on `celeryev`, as Celery's `EventReceiver` (and so Flower, `celery
 * events`) declares it: `celeryev.<node id>`, non-durable, auto-delete, bound with `#` so it
 * gets every event; old events expire after 5 s and a queue left behind after 60 s.
 */
export function eventQueueDeclaration(nodeId: string): QueueDeclaration {
  return {
    name: `${EVENT_EXCHANGE.name}.${nodeId}`,
    durable: false,
    exclusive: false,
    autoDelete: true,
    arguments: { ...EVENT_QUEUE_ARGUMENTS },
    exchange: EVENT_EXCHANGE,
    routingKey: '#',
  };
}

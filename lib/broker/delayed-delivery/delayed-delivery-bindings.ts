import type { Broker, DeliveryInfo, QueueDeclaration } from '../broker.interface';
import { topicMatches, splitTopicKey } from '../memory/topic-pattern';
import { DELAY_BITS, DELAYED_DELIVERY_EXCHANGE } from './delayed-delivery-names';
import { withoutDelayPrefix } from './delayed-routing-key';
import type { ExchangeBinding } from './delayed-delivery-topology';

/** What connects one task queue to `celery_delayed_delivery`, so delayed messages reach it. */
export interface QueueDelayBindings {
  /** Extra bindings of the queue itself (declarations of the same queue under another exchange or key). */
  queueBindings: QueueDeclaration[];
  exchangeBindings: ExchangeBinding[];
}

/**
 * How a task queue is reached from `celery_delayed_delivery`. A queue behind a topic or fanout
 * exchange is reached as Celery 5.5 does it (kombu `bind_queue_to_native_delayed_delivery_exchange`):
 * its exchange is bound to `celery_delayed_delivery` with `#.<binding key>`, and the queue to its
 * exchange with the same key. Kombu skips direct exchanges (Celery's default), leaving their ETA
 * tasks held in memory, and Celery 5.5 never sends delayed messages to them. Here such a queue (or
 * one behind a headers exchange or only the default exchange) is bound to `celery_delayed_delivery`
 * itself with `*.` 28 times then its binding key: exactly the delay digits and that key, so a
 * message parked for queue `tasks.high` never also reaches a queue bound with `high`, as `#.high`
 * would. Python workers of any version sharing the queue never notice the binding.
 */
export function queueDelayBindings(queue: QueueDeclaration): QueueDelayBindings {
  const bindingKey = queue.routingKey ?? queue.name;
  const exchange = routingExchangeOf(queue);
  if (!exchange) {
    const key = `${'*.'.repeat(DELAY_BITS)}${bindingKey}`;
    return { queueBindings: [{ ...queue, exchange: delayedDeliveryExchange(), routingKey: key }], exchangeBindings: [] };
  }
  const key = bindingKey.startsWith('#') ? bindingKey : `#.${bindingKey}`;
  return {
    queueBindings: [{ ...queue, routingKey: key }],
    exchangeBindings: [{ destination: exchange.name, source: DELAYED_DELIVERY_EXCHANGE, routingKey: key }],
  };
}

/**
 * Binds a task queue to `celery_delayed_delivery` as queueDelayBindings() describes (the topology
 * must exist). The queue bindings come first: declaring them declares the queue's exchange too.
 */
export async function bindQueueToDelayedDelivery(broker: Broker, queue: QueueDeclaration): Promise<void> {
  const { queueBindings, exchangeBindings } = queueDelayBindings(queue);
  for (const binding of queueBindings) await broker.declareQueue(binding);
  for (const { destination, source, routingKey } of exchangeBindings) await broker.bindExchange(destination, source, routingKey);
}

/**
 * The routing key (after the delay digits) that brings a message consumed from `queue` back to
 * that queue through the bindings above, or undefined when none is sure to. A queue bound to
 * `celery_delayed_delivery` itself: its binding key. A topic queue: the key the message came
 * with, as Celery 5.5 would send it, if the queue's binding matches it (another queue on that
 * exchange bound for delayed delivery with a matching key gets a copy too, as topic routing
 * goes). A fanout queue: none, since the way back goes through the fanout, to every queue on it.
 */
export function delayReturnRoutingKey(queue: QueueDeclaration, deliveryInfo: DeliveryInfo): string | undefined {
  const bindingKey = queue.routingKey ?? queue.name;
  const exchange = routingExchangeOf(queue);
  if (!exchange) return bindingKey === '' || /[*#]/.test(bindingKey) ? undefined : bindingKey;
  if (exchange.type === 'fanout') return undefined;
  const received = withoutDelayPrefix(deliveryInfo.routingKey);
  return received !== '' && topicMatches(splitTopicKey(bindingKey), received) ? received : undefined;
}

/** The queue's exchange when delayed messages reach the queue through it (topic, fanout), as in kombu. */
function routingExchangeOf(queue: QueueDeclaration): QueueDeclaration['exchange'] | undefined {
  const type = queue.exchange?.type;
  return type === 'topic' || type === 'fanout' ? queue.exchange : undefined;
}

function delayedDeliveryExchange(): NonNullable<QueueDeclaration['exchange']> {
  return { name: DELAYED_DELIVERY_EXCHANGE, type: 'topic', durable: true, autoDelete: false };
}

import type { Broker, ExchangeDeclaration, QueueDeclaration } from '../broker.interface';
import { bindQueueToDelayedDelivery } from './delayed-delivery-bindings';
import { DELAYED_DELIVERY_EXCHANGE, delayLevelName, MAX_DELAY_LEVEL } from './delayed-delivery-names';

/**
 * The type of the level queues (Celery 5.5: `broker_native_delayed_delivery_queue_type`). Every
 * participant must declare them alike: RabbitMQ refuses a second declaration with another type.
 */
export type DelayedDeliveryQueueType = 'quorum' | 'classic';

/** An exchange-to-exchange binding: messages `source` routes with `routingKey` also go to `destination`. */
export interface ExchangeBinding {
  destination: string;
  source: string;
  routingKey: string;
}

/** Everything the delay levels consist of, in the order it must be declared. */
export interface DelayedDeliveryTopology {
  exchanges: ExchangeDeclaration[];
  /** Each level's queue, bound to its level's exchange. */
  queues: QueueDeclaration[];
  /** Level L's exchange passes a message down to level L−1's (the last to `celery_delayed_delivery`). */
  exchangeBindings: ExchangeBinding[];
}

/**
 * Celery 5.5's delay levels (kombu `declare_native_delayed_delivery_exchanges_and_queues`). Level L
 * is a topic exchange and a queue that holds a message 2^L seconds, then dead-letters it to level
 * L−1. A message whose routing key has digit 1 at level L's position is routed into level L's
 * queue; with digit 0 its exchange passes it straight down. After level 0 it reaches topic
 * exchange `celery_delayed_delivery`, which routes it to its queue by the rest of the key. So a
 * delay of n seconds, written in binary, is spent in exactly the levels of its 1 digits.
 */
export function delayedDeliveryTopology(queueType: DelayedDeliveryQueueType): DelayedDeliveryTopology {
  const exchanges: ExchangeDeclaration[] = [];
  const queues: QueueDeclaration[] = [];
  const exchangeBindings: ExchangeBinding[] = [];
  for (let level = MAX_DELAY_LEVEL; level >= 0; level -= 1) {
    const name = delayLevelName(level);
    const exchange: ExchangeDeclaration = { name, type: 'topic', durable: true, autoDelete: false };
    const wordsBefore = '*.'.repeat(MAX_DELAY_LEVEL - level);
    exchanges.push(exchange);
    queues.push({
      name,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: levelQueueArguments(level, queueType),
      exchange,
      routingKey: `${wordsBefore}1.#`,
    });
    const next = level > 0 ? delayLevelName(level - 1) : DELAYED_DELIVERY_EXCHANGE;
    exchangeBindings.push({ destination: next, source: name, routingKey: `${wordsBefore}0.#` });
  }
  exchanges.push({ name: DELAYED_DELIVERY_EXCHANGE, type: 'topic', durable: true, autoDelete: false });
  return { exchanges, queues, exchangeBindings };
}

/**
 * Declares the delay levels on a broker: each level's exchange, queue and binding, and the
 * exchanges without a queue; then the exchange-to-exchange bindings, which need every exchange,
 * and the bindings of `boundQueues` (bindQueueToDelayedDelivery()), which need
 * `celery_delayed_delivery`. declareQueue() declares a queue's exchange too (kombu's
 * `Queue.declare()`), so a level's exchange is not declared on its own as well. The declarations
 * of each step are made together, so a broker that sends them together (AmqpBroker: one channel
 * for them all) does: two or three channels at a worker's start-up rather than one each.
 */
export async function declareDelayedDeliveryTopology(
  broker: Broker,
  queueType: DelayedDeliveryQueueType,
  boundQueues: readonly QueueDeclaration[] = [],
): Promise<void> {
  const topology = delayedDeliveryTopology(queueType);
  const declaredWithQueue = new Set(topology.queues.map((queue) => queue.exchange?.name));
  await Promise.all([
    ...topology.exchanges.filter((exchange) => !declaredWithQueue.has(exchange.name)).map((exchange) => broker.declareExchange(exchange)),
    ...topology.queues.map((queue) => broker.declareQueue(queue)),
  ]);
  await Promise.all([
    ...topology.exchangeBindings.map(({ destination, source, routingKey }) => broker.bindExchange(destination, source, routingKey)),
    ...boundQueues.map((queue) => bindQueueToDelayedDelivery(broker, queue)),
  ]);
}

function levelQueueArguments(level: number, queueType: DelayedDeliveryQueueType): Record<string, unknown> {
  const args: Record<string, unknown> = {
    'x-queue-type': queueType,
    // A full level refuses the publish (a nack) rather than dropping the oldest delayed task.
    'x-overflow': 'reject-publish',
    'x-message-ttl': 2 ** level * 1000,
    'x-dead-letter-exchange': level > 0 ? delayLevelName(level - 1) : DELAYED_DELIVERY_EXCHANGE,
  };
  // Quorum queues can dead-letter with confirms, so nothing is lost between levels.
  if (queueType === 'quorum') args['x-dead-letter-strategy'] = 'at-least-once';
  return args;
}

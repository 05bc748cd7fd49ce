import type { QueueDeclaration } from '../broker/broker.interface';
import type { QueueInfo } from '../control/control-replies';

/** RabbitMQ arguments kombu keeps as Queue attributes (durations in seconds), not in `queue_arguments`. */
const NAMED_ARGUMENTS: Record<string, { attribute: string; toKombu: (value: number) => number }> = {
  'x-expires': { attribute: 'expires', toKombu: (ms) => ms / 1000 },
  'x-message-ttl': { attribute: 'message_ttl', toKombu: (ms) => ms / 1000 },
  'x-max-length': { attribute: 'max_length', toKombu: (count) => count },
  'x-max-length-bytes': { attribute: 'max_length_bytes', toKombu: (bytes) => bytes },
  'x-max-priority': { attribute: 'max_priority', toKombu: (priority) => priority },
};

/**
 * A queue the worker consumes as kombu's `Queue.as_dict(recurse=True)` (`inspect active_queues`,
 * Fx worker_pidbox_active_queues): same keys, same order, `x-expires` & co. back in kombu's
 * attributes and seconds, any other argument in `queue_arguments`.
 */
export function queueInfo(queue: QueueDeclaration): QueueInfo {
  const named: Record<string, number | null> = { expires: null, message_ttl: null, max_length: null, max_length_bytes: null, max_priority: null };
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(queue.arguments)) {
    const known = NAMED_ARGUMENTS[key];
    if (known && typeof value === 'number') named[known.attribute] = known.toKombu(value);
    else rest[key] = value;
  }
  const exchange = queue.exchange ?? { name: '', type: 'direct', durable: true, autoDelete: false };
  return {
    name: queue.name,
    exchange: {
      name: exchange.name,
      type: exchange.type,
      arguments: null,
      durable: exchange.durable,
      passive: false,
      auto_delete: exchange.autoDelete ?? false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: queue.routingKey ?? queue.name,
    queue_arguments: Object.keys(rest).length > 0 ? rest : null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: queue.durable,
    exclusive: queue.exclusive,
    auto_delete: queue.autoDelete,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    ...named,
  };
}

import type { ExchangeType } from '../broker.interface';
import { type KombuBinding, topicBindingPattern } from './kombu-redis-keys';

/**
 * What kombu stores in a binding's pattern field (`ExchangeType.prepare_bind`): the regular
 * expression of a topic key, nothing for the other types.
 */
export function bindingFor(type: ExchangeType, routingKey: string, queue: string): KombuBinding {
  return { routingKey, pattern: type === 'topic' ? topicBindingPattern(routingKey) : '', queue };
}

/** Compiled patterns: bindings are read on every publish, their expressions rarely change. */
const compiled = new Map<string, RegExp>();

function patternMatches(pattern: string, routingKey: string): boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    // No `u` flag: kombu writes Python escapes such as `\_` and `\-`, which only the legacy
    // (Annex B) syntax accepts as identity escapes.
    regex = new RegExp(pattern);
    compiled.set(pattern, regex);
  }
  return regex.test(routingKey);
}

/**
 * The queues an exchange routes a key to, from the exchange's bindings in Redis (kombu
 * `DirectExchange.lookup`, `TopicExchange.lookup`, `FanoutExchange.lookup`). kombu knows an
 * exchange's type only from declarations in its own process and takes "direct" otherwise; so do we.
 */
export function routeThroughBindings(type: ExchangeType, bindings: readonly KombuBinding[], routingKey: string): string[] {
  const queues = new Set<string>();
  for (const binding of bindings) {
    const matches =
      type === 'fanout' ? true : type === 'topic' ? binding.pattern !== '' && patternMatches(binding.pattern, routingKey) : binding.routingKey === routingKey;
    if (matches && binding.queue) queues.add(binding.queue);
  }
  return [...queues];
}

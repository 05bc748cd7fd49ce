import { DELAY_BITS, MAX_DELAY_SECONDS } from './delayed-delivery-names';

/** The 28 binary digits and their dots that delayed delivery puts in front of a routing key. */
const DELAY_PREFIX = new RegExp(`^(?:[01]\\.){${DELAY_BITS}}`);

/**
 * The routing key of a message delayed by `countdownSeconds` on its way to `routingKey`: the
 * countdown as 28 binary digits joined by dots, then the key (a delay prefix it already has is
 * replaced, so keys do not grow on every retry). Celery 5.5: kombu `calculate_routing_key`.
 */
export function delayedRoutingKey(countdownSeconds: number, routingKey: string): string {
  if (!Number.isInteger(countdownSeconds) || countdownSeconds < 1 || countdownSeconds > MAX_DELAY_SECONDS) {
    throw new RangeError(`countdown must be a whole number of seconds from 1 to ${MAX_DELAY_SECONDS}, got ${countdownSeconds}`);
  }
  if (routingKey === '') throw new RangeError('routing key must be non-empty');
  const digits = countdownSeconds.toString(2).padStart(DELAY_BITS, '0');
  return `${digits.split('').join('.')}.${withoutDelayPrefix(routingKey)}`;
}

/**
 * The routing key a message had before delayed delivery prefixed it: what a task's `queue` result
 * field and its retries must use. Keys without the prefix are returned as they are.
 */
export function withoutDelayPrefix(routingKey: string): string {
  return routingKey.replace(DELAY_PREFIX, '');
}

/** True when the message came through the delay levels (its routing key carries the 28 digits). */
export function hasDelayPrefix(routingKey: string): boolean {
  return DELAY_PREFIX.test(routingKey);
}

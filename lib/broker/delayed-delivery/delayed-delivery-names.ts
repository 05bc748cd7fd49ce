/**
 * The names of Celery 5.5's native delayed delivery topology (kombu
 * `kombu/transport/native_delayed_delivery.py`), shared with Python workers so both speak it.
 */

/** Binary digits of a delay in the routing key (kombu `MAX_NUMBER_OF_BITS_TO_USE`). */
export const DELAY_BITS = 28;

/** The highest level; its exchange is where delayed messages are published (kombu `MAX_LEVEL`). */
export const MAX_DELAY_LEVEL = DELAY_BITS - 1;

/** The longest delay one trip through the levels can express, in seconds (2^28 − 1, about 8.5 years). */
export const MAX_DELAY_SECONDS = 2 ** DELAY_BITS - 1;

/** Where messages leave the levels, to be routed to their queues (kombu `CELERY_DELAYED_DELIVERY_EXCHANGE`). */
export const DELAYED_DELIVERY_EXCHANGE = 'celery_delayed_delivery';

/** The exchange and queue of one level, which holds a message 2^level seconds (kombu `level_name`). */
export function delayLevelName(level: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_DELAY_LEVEL) {
    throw new RangeError(`delay level must be an integer from 0 to ${MAX_DELAY_LEVEL}, got ${level}`);
  }
  return `celery_delayed_${level}`;
}

/** Where a delayed message is published: `celery_delayed_27`. */
export const DELAY_ENTRY_EXCHANGE = delayLevelName(MAX_DELAY_LEVEL);

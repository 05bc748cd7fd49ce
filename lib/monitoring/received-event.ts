import type { MessageProperties } from '../broker/broker.interface';
import type { CeleryEvent } from '../events/celery-event';
import { parseCeleryJson } from '../protocol/celery-json';
import { JSON_CONTENT_TYPE } from '../protocol/task-message';

/**
 * An event as a monitor holds it (Celery's `EventReceiver.event_from_message` result): what the
 * sender published, with `timestamp` brought to the receiver's zone, a `clock` always present,
 * and `local_received`, the receiver's own time of arrival in epoch seconds.
 */
export interface ReceivedEvent extends CeleryEvent {
  local_received: number;
}

/** The events of one message, or why it was dropped. */
export type DecodedEvents = { ok: true; events: Record<string, unknown>[] } | { ok: false; reason: string };

/**
 * Reads one message from `celeryev` as Celery's receiver does (celery-protocol.md §8.1): a JSON
 * object, or a JSON array of them (`task.multi` batches). Items without a string `type` are
 * dropped; anything not JSON is refused (pickle is never deserialised). Never throws.
 */
export function decodeEventMessage(body: Buffer, properties: MessageProperties): DecodedEvents {
  if (properties.contentType !== undefined && properties.contentType !== JSON_CONTENT_TYPE) {
    return { ok: false, reason: `its content type is "${properties.contentType}", not ${JSON_CONTENT_TYPE}` };
  }
  let parsed: unknown;
  try {
    parsed = parseCeleryJson(body.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `its body is not valid JSON (${(error as Error).message})` };
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const events = items.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && typeof (item as Record<string, unknown>).type === 'string');
  if (events.length === 0) return { ok: false, reason: 'it holds no event object with a "type"' };
  return { ok: true, events };
}

/** Where the receiver is when it localizes an event. */
export interface LocalClock {
  /** The receiver's Lamport clock: adjusted past each event's clock, forwarded for events without one. */
  adjust(other: number): number;
  forward(): number;
  readonly value: number;
  /** Seconds since the epoch now. */
  now(): number;
  /** The receiver's own `utcoffset` (hours west of UTC). */
  utcOffsetHours: number;
}

/** Celery's CLIENT_CLOCK_SKEW: clients never synchronise clocks, so task-sent is placed just before ours. */
const CLIENT_CLOCK_SKEW = -1;

/**
 * Celery's `event_from_message`: task-sent gets the receiver's clock minus one (clients' clocks
 * are not synchronised), other events move the receiver's clock past theirs (or get a fresh tick
 * when they have none); `timestamp` is shifted by the difference of the zones, `timestamp −
 * (utcoffset − local) × 3600`; `local_received` is now.
 */
export function localizeEvent(fields: Record<string, unknown>, clock: LocalClock): ReceivedEvent {
  const event = { ...fields } as ReceivedEvent;
  if (event.type === 'task-sent') {
    event.clock = (clock.value || 1) + CLIENT_CLOCK_SKEW;
    clock.adjust(event.clock);
  } else if (typeof event.clock === 'number') {
    clock.adjust(event.clock);
  } else if (typeof event.clock === 'bigint') {
    event.clock = Number(event.clock);
    clock.adjust(event.clock);
  } else {
    event.clock = clock.forward();
  }
  if (typeof event.timestamp === 'number' && typeof event.utcoffset === 'number') {
    event.timestamp = event.timestamp - (event.utcoffset - clock.utcOffsetHours) * 3600;
  }
  event.local_received = clock.now();
  return event;
}

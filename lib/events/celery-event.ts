/** The fields an event type adds to the common ones (celery-protocol.md §8.3), in Celery's order. */
export type EventFields = Record<string, unknown>;

/**
 * One Celery event as it travels (Celery's `Event()` dict, celery-protocol.md §8.2): the common
 * fields first, in Celery's order, then the type's own, then `timestamp` and `type`.
 */
export interface CeleryEvent extends EventFields {
  hostname: string;
  /** Hours west of UTC (see utcOffsetHours). */
  utcoffset: number;
  pid: number;
  /** The sender's Lamport clock, forwarded for this event. */
  clock: number;
  /** Seconds since the epoch, with a fraction. */
  timestamp: number;
  type: string;
}

/**
 * Wall-clock time in a named time zone, the way Celery 5.2.6 reasons about schedules: its
 * `remaining()` and `crontab.remaining_delta()` work on aware datetimes of the app's time zone, and
 * Python subtracts two datetimes that share a tzinfo by their wall clocks, ignoring the UTC offset
 * (pytz gives both the same tzinfo once `remaining()` has swapped the start's for now's across a
 * DST change). So a schedule's arithmetic here runs on "wall milliseconds": the zone's local
 * date and time written as if it were UTC. Offsets come from the platform's IANA data (Intl).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** True when the platform knows `zone` as an IANA time zone name (e.g. 'Europe/Paris'). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock of `zone` at `instantMs`, as milliseconds written as if UTC (Python's `astimezone(tz)`). */
export function toWallClock(instantMs: number, zone: string): number {
  if (zone === 'UTC') return instantMs;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wholeSeconds = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wholeSeconds + (((instantMs % 1000) + 1000) % 1000);
}

/**
 * The instant of a wall clock of `zone` (Python's `datetime(..., tzinfo=ZoneInfo(zone), fold=0)
 * .astimezone(utc)`): a time that occurs twice (fall back) is its first occurrence; one that a
 * spring-forward skips is read with the offset from before the change, so it lands after it.
 */
export function fromWallClock(wallMs: number, zone: string): number {
  if (zone === 'UTC') return wallMs;
  // The offsets a day either side: DST changes are months apart, so the wall time lies between them.
  const before = offsetAt(wallMs - DAY_MS, zone);
  const after = offsetAt(wallMs + DAY_MS, zone);
  if (before === after || offsetAt(wallMs - before, zone) === before) return wallMs - before;
  return offsetAt(wallMs - after, zone) === after ? wallMs - after : wallMs - before;
}

/** The zone's UTC offset (ms) at an instant. */
function offsetAt(instantMs: number, zone: string): number {
  return toWallClock(instantMs, zone) - instantMs;
}

/** A wall-clock date's fields (months 1-12 as Python's, weekday with Sunday = 0 as Celery's `isoweekday() % 7`). */
export interface WallFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** Sunday = 0 … Saturday = 6. */
  dayOfWeek: number;
}

export function wallFields(wallMs: number): WallFields {
  const date = new Date(wallMs);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    dayOfWeek: date.getUTCDay(),
  };
}

/** Days in a month (Python's `calendar.monthrange(year, month)[1]`). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;

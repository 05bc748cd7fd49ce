/**
 * The 10-byte state Python's `datetime.datetime.__reduce__` pickles (CPython
 * `Modules/_datetimemodule.c`): year (2 bytes, big-endian), month, day, hour, minute, second,
 * microsecond (3 bytes, big-endian). Bit 7 of the month byte is `fold` (PEP 495), which only
 * matters for local times and is ignored here.
 */
export const DATETIME_STATE_LENGTH = 10;

const FOLD_BIT = 0x80;
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

/**
 * The datetime state as a UTC Date, or null when the bytes are not a valid date. Python keeps
 * microseconds; a JS Date keeps milliseconds, so the last three digits are dropped.
 */
export function dateFromDatetimeState(state: Uint8Array): Date | null {
  if (state.length !== DATETIME_STATE_LENGTH) return null;
  const year = (state[0] << 8) | state[1];
  const month = state[2] & (0xff ^ FOLD_BIT);
  const [day, hour, minute, second] = [state[3], state[4], state[5], state[6]];
  const microsecond = (state[7] << 16) | (state[8] << 8) | state[9];
  const valid =
    year >= MIN_YEAR && month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
    hour <= 23 && minute <= 59 && second <= 59 && microsecond <= 999_999;
  if (!valid) return null;
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Math.floor(microsecond / 1000));
  return date.getUTCDate() === day ? date : null; // 31 February rolls over; Python refuses it
}

/** The datetime state of a Date's UTC fields (a naive UTC datetime), or null outside years 1–9999. */
export function datetimeStateFromDate(date: Date): Buffer | null {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < MIN_YEAR || year > MAX_YEAR) return null;
  const microsecond = date.getUTCMilliseconds() * 1000;
  return Buffer.from([
    year >> 8,
    year & 0xff,
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    microsecond >> 16,
    (microsecond >> 8) & 0xff,
    microsecond & 0xff,
  ]);
}

/**
 * `timedelta(days, seconds, microseconds)` as a number of seconds, the unit Celery uses for
 * durations. Summed in whole microseconds and divided once, so it rounds like Python's
 * `total_seconds()`.
 */
export function secondsFromTimedelta(days: number, seconds: number, microseconds: number): number {
  return (days * 86_400_000_000 + seconds * 1_000_000 + microseconds) / 1_000_000;
}

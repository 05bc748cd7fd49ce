/**
 * The `utcoffset` field of every event, as Celery's `celery.utils.time.utcoffset()` computes it:
 * `time.timezone // 3600` (`altzone` in DST), hours *west* of UTC rounded down, so UTC+2 is -2
 * and UTC+5:30 is -6. Receivers use it to bring `timestamp` to their own zone.
 */
export function utcOffsetHours(at: Date = new Date()): number {
  // getTimezoneOffset() is minutes west of UTC at that date, DST included: Python's altzone/timezone choice.
  return Math.floor(at.getTimezoneOffset() / 60);
}

import { fromWallClock } from './wall-clock';

/**
 * Which Celery's time arithmetic the beat follows (the `beat.scheduleRules` option). The one
 * place that decides between them.
 *
 * - `'celery-5.3'` (the default; Celery 5.3 to 5.6): `celery.utils.time.remaining()` adds the
 *   interval (or crontab's fast-forward) on the wall clock of the schedule's zone, then takes the
 *   difference with now in UTC: the end is a real instant (a wall time that a spring-forward skips
 *   is read with the offset before the change, Python's fold=0). `crontab._delta_to_next` compares
 *   the candidate day *at the next run's hour and minute*, in the zone, with the last run.
 * - `'celery-5.2'` (Celery 5.2.x, Debian's python3-celery): the difference is taken between wall
 *   clocks, so across a DST change a run comes an hour early or late once; `_delta_to_next`
 *   compares the candidate day's midnight, read as UTC, with the last run.
 * Celery 5.3 also reads month names in crontab fields (`readsMonthNames`).
 */
export type ScheduleRules = 'celery-5.3' | 'celery-5.2';

export const SCHEDULE_RULES: readonly ScheduleRules[] = ['celery-5.3', 'celery-5.2'];

export const DEFAULT_SCHEDULE_RULES: ScheduleRules = 'celery-5.3';

/** Where a schedule's sums happen and which Celery's rules read them. */
export interface ScheduleTime {
  readonly zone: string;
  readonly rules: ScheduleRules;
}

/**
 * Celery's `remaining(start, ends_in, now)` once `start + ends_in` is known as a wall clock of
 * the zone: milliseconds from now to that end, by the rules' subtraction.
 */
export function remainingMs(endWall: number, now: { instantMs: number; wallMs: number }, time: ScheduleTime): number {
  if (time.rules === 'celery-5.2') return endWall - now.wallMs;
  return fromWallClock(endWall, time.zone) - now.instantMs;
}

/** Celery 5.3+ reads month names (`'jan-mar'`) in crontab fields; 5.2 only day names. */
export function readsMonthNames(rules: ScheduleRules): boolean {
  return rules === 'celery-5.3';
}

/**
 * `crontab._delta_to_next`'s `is_before_last_run(year, month, day)`: whether a candidate day,
 * at `hour:minute` of the zone, comes before the last run (both as wall clocks of the zone, and
 * the last run's instant).
 */
export function isBeforeLastRun(day: { year: number; month: number; day: number; hour: number; minute: number }, last: { instantMs: number; wallMs: number }, rules: ScheduleRules): boolean {
  // 5.2: the naive date is made aware as UTC midnight. 5.3+: the date at the next run's time is
  // made aware in the zone; Python compares two datetimes of one tzinfo by their wall clocks.
  if (rules === 'celery-5.2') return Date.UTC(day.year, day.month - 1, day.day) < last.instantMs;
  return Date.UTC(day.year, day.month - 1, day.day, day.hour, day.minute) < last.wallMs;
}

import { InvalidScheduleError } from '../../errors/invalid-schedule.error';
import { DEFAULT_SCHEDULE_RULES, readsMonthNames, ScheduleRules } from './schedule-rules';

/** Celery's `celery.utils.time.weekday()`: the first three letters of a day name, Sunday = 0. */
const WEEKDAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** Celery 5.3+'s `celery.utils.time.yearmonth()`: the first three letters of a month name, January = 1. */
const YEARMONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** A crontab field as Celery takes it: a number, a list of numbers, or its string syntax. */
export type CronField = number | readonly number[] | string;

/**
 * Celery's `crontab_parser` and `crontab._expand_cronspec`, rule for rule: `*`, `a-b` (wrapping
 * past the maximum when b < a), `*\/n`, `a-b/n`, comma lists, and day names (`mon-fri`) in every
 * field (only day_of_week has values they fit, as in Celery) — and month names (`jan-mar`) first
 * under Celery 5.3+'s rules, as its `_expand_number` tries them. `max` values from `min`:
 * minute (60, 0), hour (24, 0), day_of_week (7, 0), day_of_month (31, 1), month_of_year (12, 1).
 */
export function expandCronField(field: string, spec: CronField, max: number, min = 0, rules: ScheduleRules = DEFAULT_SCHEDULE_RULES): number[] {
  let values: number[];
  if (typeof spec === 'number') values = [spec];
  else if (typeof spec === 'string') values = parseCronString(field, spec, max, min, rules);
  else if (Array.isArray(spec)) values = [...spec];
  else throw new InvalidScheduleError(`${field} must be a number, a list of numbers or a crontab string such as '*/15', got ${typeof spec}`);
  for (const value of values) {
    if (!Number.isInteger(value) || value >= max + min || value < min) {
      throw new InvalidScheduleError(`${field}: invalid crontab pattern. Valid range is ${min}-${max - 1 + min}, got ${String(value)}`);
    }
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function parseCronString(field: string, spec: string, max: number, min: number, rules: ScheduleRules): number[] {
  const values = new Set<number>();
  const fail = (why: string): never => {
    throw new InvalidScheduleError(`${field} '${spec}' is not a crontab pattern: ${why}`);
  };
  const star = () => Array.from({ length: max }, (_, index) => index + min);
  const number = (token: string): number => {
    if (token.startsWith('-')) fail('negative numbers not supported');
    let value: number;
    if (/^\d+$/.test(token)) value = Number(token);
    else {
      const name = token.slice(0, 3).toLowerCase();
      const named = (readsMonthNames(rules) ? YEARMONTHS[name] : undefined) ?? WEEKDAYS[name];
      if (named === undefined) return fail(`invalid weekday literal '${token}'${readsMonthNames(rules) ? '' : " (month names such as 'jan' need scheduleRules 'celery-5.3')"}`);
      value = named;
    }
    if (value > min + max - 1) fail(`invalid end range: ${value} > ${min + max - 1}`);
    if (value < min) fail(`invalid beginning range: ${value} < ${min}`);
    return value;
  };
  const range = (from: string, to?: string): number[] => {
    const start = number(from);
    if (to === undefined) return [start];
    const end = number(to);
    if (end < start) return [...Array.from({ length: min + max - start }, (_, index) => start + index), ...Array.from({ length: end + 1 - min }, (_, index) => min + index)];
    return Array.from({ length: end - start + 1 }, (_, index) => start + index);
  };
  const step = (token: string | undefined): number => {
    if (!token) return fail('empty filter');
    if (!/^\d+$/.test(token) || Number(token) === 0) return fail(`step '${token}' must be a positive whole number`);
    return Number(token);
  };
  const every = <T>(list: T[], by: number) => list.filter((_, index) => index % by === 0);
  for (const part of spec.split(',')) {
    if (part === '') fail('empty part');
    // The same patterns, in the same order, as Celery's crontab_parser.pats (regex.match: anchored at the start only).
    let match: RegExpMatchArray | null;
    if ((match = /^(\w+?)-(\w+)\/(\w+)?/.exec(part))) every(range(match[1], match[2]), step(match[3])).forEach((value) => values.add(value));
    else if ((match = /^(\w+?)-(\w+)/.exec(part))) range(match[1], match[2]).forEach((value) => values.add(value));
    else if ((match = /^\*\/(\w+)?/.exec(part))) every(star(), step(match[1])).forEach((value) => values.add(value));
    else if (/^\*$/.test(part)) star().forEach((value) => values.add(value));
    else range(part).forEach((value) => values.add(value));
  }
  return [...values];
}

import { InvalidScheduleError } from '../../errors/invalid-schedule.error';
import { CronField, expandCronField } from './crontab-parser';
import { isBeforeLastRun, remainingMs, ScheduleTime } from './schedule-rules';
import { PeriodicSchedule, ScheduleClock, ScheduleState } from './schedule-state';
import { DAY_MS, daysInMonth, SECOND_MS, toWallClock, wallFields } from './wall-clock';

/** Celery's crontab fields (`crontab(minute=…, hour=…, day_of_week=…, day_of_month=…, month_of_year=…)`), each `'*'` when omitted. */
export interface CrontabFields {
  minute?: CronField;
  hour?: CronField;
  dayOfWeek?: CronField;
  dayOfMonth?: CronField;
  monthOfYear?: CronField;
}

/** A time as both the zone's wall clock and the instant. */
interface WallAndInstant {
  instantMs: number;
  wallMs: number;
}

/** What Celery's `ffwd` sets; only addition is needed (`celery.utils.time.ffwd`). */
interface FastForward {
  year?: number;
  month?: number;
  day?: number;
  hour?: number;
  minute: number;
  /** Python's weekday (Monday = 0). */
  weekday?: number;
  weeks?: number;
}

/**
 * Celery's `crontab`, ported rule for rule from `remaining_delta` / `is_due` (no cron library
 * computes the same times: Celery requires a day to be in day_of_week AND day_of_month AND
 * month_of_year, where cron runs on either day field, and it reasons on the wall clock of the
 * schedule's time zone across DST changes), by Celery 5.3+'s rules or 5.2's (schedule-rules.ts).
 * A test compares it with Python's own crontab, under Celery 5.2.6 and 5.6.3.
 */
export class CrontabSchedule implements PeriodicSchedule {
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly daysOfWeek: number[];
  private readonly daysOfMonth: number[];
  private readonly monthsOfYear: number[];
  /** Celery's `all_dom_moy`: both given as the string '*' (the default), not as numbers. */
  private readonly everyDayOfMonthAndMonth: boolean;

  constructor(
    readonly fields: CrontabFields,
    private readonly time: ScheduleTime,
  ) {
    const { rules } = time;
    this.minutes = expandCronField('minute', fields.minute ?? '*', 60, 0, rules);
    this.hours = expandCronField('hour', fields.hour ?? '*', 24, 0, rules);
    this.daysOfWeek = expandCronField('dayOfWeek', fields.dayOfWeek ?? '*', 7, 0, rules);
    this.daysOfMonth = expandCronField('dayOfMonth', fields.dayOfMonth ?? '*', 31, 1, rules);
    this.monthsOfYear = expandCronField('monthOfYear', fields.monthOfYear ?? '*', 12, 1, rules);
    for (const [name, values] of Object.entries({ minute: this.minutes, hour: this.hours, dayOfWeek: this.daysOfWeek, dayOfMonth: this.daysOfMonth, monthOfYear: this.monthsOfYear })) {
      if (values.length === 0) throw new InvalidScheduleError(`crontab ${name} matches no value: give at least one`);
    }
    this.everyDayOfMonthAndMonth = (fields.dayOfMonth ?? '*') === '*' && (fields.monthOfYear ?? '*') === '*';
  }

  /** Celery's `crontab.is_due(last_run_at)`: when due, the next check is counted from now. */
  isDue({ nowMs, lastRunAtMs }: ScheduleClock): ScheduleState {
    const now = { instantMs: nowMs, wallMs: toWallClock(nowMs, this.time.zone) };
    const remaining = this.remainingMs({ instantMs: lastRunAtMs, wallMs: toWallClock(lastRunAtMs, this.time.zone) }, now);
    if (remaining > 0) return { isDue: false, nextSeconds: remaining / SECOND_MS, lagSeconds: 0 };
    const next = Math.max(this.remainingMs(now, now), 0);
    return { isDue: true, nextSeconds: next / SECOND_MS, lagSeconds: -remaining / SECOND_MS };
  }

  describe(): string {
    const text = (field: CronField | undefined) => (field === undefined ? '*' : Array.isArray(field) ? field.join(',') : String(field));
    const { minute, hour, dayOfWeek, dayOfMonth, monthOfYear } = this.fields;
    return `<crontab: ${text(minute)} ${text(hour)} ${text(dayOfWeek)} ${text(dayOfMonth)} ${text(monthOfYear)} (m/h/dM/MY/d) ${this.time.zone}>`;
  }

  /** Celery's `remaining(*remaining_delta(last_run_at))`, on wall clocks (ms). */
  private remainingMs(last: WallAndInstant, now: WallAndInstant): number {
    return remainingMs(fastForward(last.wallMs, this.delta(last, now.wallMs)), now, this.time);
  }

  /** Celery's `crontab.remaining_delta`. */
  private delta(lastRun: WallAndInstant, nowWall: number): FastForward {
    const last = wallFields(lastRun.wallMs);
    const now = wallFields(nowWall);
    const executeThisDate = this.monthsOfYear.includes(last.month) && this.daysOfMonth.includes(last.day) && this.daysOfWeek.includes(last.dayOfWeek);
    const executeThisHour =
      executeThisDate &&
      last.day === now.day &&
      last.month === now.month &&
      last.year === now.year &&
      this.hours.includes(last.hour) &&
      last.minute < Math.max(...this.minutes);
    if (executeThisHour) return { minute: this.minutes.find((minute) => minute > last.minute)! };
    const nextMinute = this.minutes[0];
    if (executeThisDate && last.hour < Math.max(...this.hours)) {
      return { hour: this.hours.find((hour) => hour > last.hour)!, minute: nextMinute };
    }
    const nextHour = this.hours[0];
    if (this.everyDayOfMonthAndMonth) {
      const nextDay = this.daysOfWeek.find((day) => day > last.dayOfWeek) ?? this.daysOfWeek[0];
      return { weeks: nextDay === last.dayOfWeek ? 1 : 0, weekday: (nextDay - 1 + 7) % 7, hour: nextHour, minute: nextMinute };
    }
    return this.deltaToNext(last, lastRun, nextHour, nextMinute);
  }

  /** Celery's `crontab._delta_to_next`: the next day in all three day fields, from the last run. */
  private deltaToNext(last: ReturnType<typeof wallFields>, lastRun: WallAndInstant, hour: number, minute: number): FastForward {
    const days = this.daysOfMonth;
    const months = this.monthsOfYear;
    let year = last.year;
    let dayIndex: number;
    let monthIndex: number;
    if (months.includes(last.month)) {
      dayIndex = days.filter((day) => day <= last.day).length; // bisect_right
      monthIndex = months.indexOf(last.month); // bisect_left
    } else {
      dayIndex = 0;
      monthIndex = months.filter((month) => month <= last.month).length;
      if (monthIndex === months.length) monthIndex = 0;
    }
    const rollOver = () => {
      for (let attempt = 0; attempt < 2000; attempt++) {
        const skip =
          dayIndex === days.length ||
          days[dayIndex] > daysInMonth(year, months[monthIndex]) ||
          isBeforeLastRun({ year, month: months[monthIndex], day: days[dayIndex], hour, minute }, lastRun, this.time.rules);
        if (!skip) return;
        dayIndex = 0;
        monthIndex += 1;
        if (monthIndex === months.length) {
          monthIndex = 0;
          year += 1;
        }
      }
      throw new InvalidScheduleError(`${this.describe()} never matches a date: no day is in dayOfMonth, monthOfYear and dayOfWeek at once`);
    };
    rollOver();
    while (!this.daysOfWeek.includes(new Date(Date.UTC(year, months[monthIndex] - 1, days[dayIndex])).getUTCDay())) {
      dayIndex += 1;
      rollOver();
    }
    return { year, month: months[monthIndex], day: days[dayIndex], hour, minute };
  }
}

/** `wall + ffwd(...)`: Celery's `ffwd.__radd__` on a wall clock. Seconds and microseconds become 0. */
function fastForward(wall: number, delta: FastForward): number {
  const from = wallFields(wall);
  const year = delta.year ?? from.year;
  const month = delta.month ?? from.month;
  const day = Math.min(daysInMonth(year, month), delta.day ?? from.day);
  let result = Date.UTC(year, month - 1, day, delta.hour ?? from.hour, delta.minute, 0, 0);
  if (delta.weekday !== undefined) {
    const pythonWeekday = (new Date(result).getUTCDay() + 6) % 7;
    result += ((7 - pythonWeekday + delta.weekday) % 7) * DAY_MS;
  }
  return result + (delta.weeks ?? 0) * 7 * DAY_MS;
}

/**
 * When a periodic task runs: Celery's schedule kinds, as `beat_schedule` entries and
 * django-celery-beat's tables hold them.
 *
 * - a number: every so many seconds (Celery: a number or `timedelta` as `schedule`);
 * - `{ every, period }`: django-celery-beat's IntervalSchedule (period 'days', 'hours', 'minutes' or 'seconds');
 * - `{ crontab: { minute, hour, dayOfWeek, dayOfMonth, monthOfYear, timezone } }`: Celery's
 *   `crontab()`, each field a number, a list or Celery's string syntax ('*\/15', '1-5', 'mon-fri'),
 *   `'*'` when omitted; `timezone` is the crontab's own (django-celery-beat's), else the beat's;
 * - `{ clocked: time }`: django-celery-beat's ClockedSchedule, once at that time;
 * - `{ solar: { event, latitude, longitude } }`: Celery's `solar(event, lat, lon)`, at each
 *   sunrise, sunset, dawn, dusk or solar noon at that place (django-celery-beat's SolarSchedule).
 */
export type BeatSchedule =
  | number
  | { every: number; period?: IntervalPeriod }
  | { crontab: CrontabSpec }
  | { clocked: Date | string }
  | { solar: SolarSpec };

export type IntervalPeriod = 'days' | 'hours' | 'minutes' | 'seconds';

/** A crontab as Celery's `crontab(minute=…, hour=…, day_of_week=…, day_of_month=…, month_of_year=…)`. */
export interface CrontabSpec {
  minute?: CronFieldSpec;
  hour?: CronFieldSpec;
  dayOfWeek?: CronFieldSpec;
  dayOfMonth?: CronFieldSpec;
  monthOfYear?: CronFieldSpec;
  /** IANA time zone the fields are read in (django-celery-beat's crontab timezone). Default: the beat's `timezone`. */
  timezone?: string;
}

export type CronFieldSpec = number | readonly number[] | string;

/** Celery's `solar(event, lat, lon)` (django-celery-beat's SolarSchedule: event, latitude, longitude). */
export interface SolarSpec {
  /** One of Celery's events: 'dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise', 'solar_noon', 'sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical'. */
  event: SolarEventName;
  /** Degrees, -90 to 90 (north positive); stored to 6 decimals as django-celery-beat does. */
  latitude: number;
  /** Degrees, -180 to 180 (east positive); stored to 6 decimals as django-celery-beat does. */
  longitude: number;
}

export type SolarEventName = 'dawn_astronomical' | 'dawn_nautical' | 'dawn_civil' | 'sunrise' | 'solar_noon' | 'sunset' | 'dusk_civil' | 'dusk_nautical' | 'dusk_astronomical';

/** Where and how a fired message goes (Celery's entry `options`: the `apply_async` options beat passes). */
export interface BeatEntryOptions {
  queue?: string;
  exchange?: string;
  /** Celery: `routing_key`. */
  routingKey?: string;
  /** 0–255 (Celery: `priority`). */
  priority?: number;
  /** Seconds after sending when the task must no longer run (Celery: `expires`; django-celery-beat: `expire_seconds`). */
  expires?: number;
  /** Extra message headers (django-celery-beat: `headers`). */
  headers?: Record<string, unknown>;
}

/** One periodic task (an entry of Celery's `beat_schedule`; a row of django-celery-beat's PeriodicTask). */
export interface BeatScheduleEntry {
  /** The task to send, by its registered name (Python's or Nest's). */
  task: string;
  schedule: BeatSchedule;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: BeatEntryOptions;
  /** Not before this time (django-celery-beat: `start_time`). */
  startTime?: Date | string;
  /** Fire once, then disable the entry (django-celery-beat: `one_off`). Clocked schedules always are. */
  oneOff?: boolean;
  /** Shown in Django's admin (django-celery-beat: `description`). */
  description?: string;
  /**
   * Interval schedules only (Celery: the entry's `relative=True`): round each run's time down to
   * the interval's resolution — the day, hour or minute when the interval is at least that long —
   * so an hourly task runs on the hour. Kept by the beat's code, not in django-celery-beat's tables
   * (they have no column for it): every beat process must declare it alike.
   */
  relative?: boolean;
}

/** A task method's own schedule (`@CeleryTask({ schedule })`): the task is the method's; the entry's name defaults to the task's. */
export type TaskScheduleOption = BeatSchedule | (Omit<BeatScheduleEntry, 'task'> & { name?: string });

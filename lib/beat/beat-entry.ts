import type { SendTaskOptions } from '../client/send-task-options';
import { InvalidScheduleError } from '../errors/invalid-schedule.error';
import { ClockedSchedule } from './schedules/clocked-schedule';
import { CrontabSchedule } from './schedules/crontab-schedule';
import { IntervalSchedule } from './schedules/interval-schedule';
import { DEFAULT_SCHEDULE_RULES, ScheduleRules } from './schedules/schedule-rules';
import type { PeriodicSchedule, ScheduleState } from './schedules/schedule-state';
import { SolarEvent, SolarSchedule } from './schedules/solar-schedule';
import { isKnownTimeZone } from './schedules/wall-clock';
import type { PeriodicTaskRow } from './store/periodic-task-row';

/** A periodic task as the beat fires it: a PeriodicTask row, its schedule compiled. */
export interface BeatEntry {
  readonly id: number;
  readonly name: string;
  readonly task: string;
  readonly schedule: PeriodicSchedule;
  readonly args: unknown[];
  readonly sendOptions: SendTaskOptions;
  readonly enabled: boolean;
  /** Fired once, then disabled in the same transaction (one_off rows and clocked schedules). */
  readonly oneOff: boolean;
  readonly startTimeMs: number | null;
  readonly lastRunAtMs: number;
  readonly totalRunCount: number;
}

/** How the beat reads rows into schedules. */
export interface EntryCompileOptions {
  /** Celery's `timezone`: interval schedules' zone, and crontabs' when the row names none. */
  readonly timeZone: string;
  /** Which Celery's time arithmetic (schedule-rules.ts). */
  readonly rules: ScheduleRules;
  /** Code schedules declared `relative: true` (django-celery-beat's tables have no column for Celery's flag). */
  readonly relativeNames?: ReadonlySet<string>;
}

/** UTC, the default rules, nothing relative: the dashboard's reading of rows. */
export const DEFAULT_COMPILE_OPTIONS: EntryCompileOptions = { timeZone: 'UTC', rules: DEFAULT_SCHEDULE_RULES };

/** django-celery-beat's IntervalSchedule periods, in seconds. */
const PERIOD_SECONDS: Record<string, number> = { days: 86_400, hours: 3600, minutes: 60, seconds: 1, microseconds: 1e-6 };

/** How long a disabled entry waits before it is looked at again (django-celery-beat: 5 s "for re-enable"). */
const DISABLED_RECHECK_SECONDS = 5;

/**
 * The entry of a row, as django-celery-beat's ModelEntry reads it: args and kwargs are JSON
 * text; options are the row's queue, exchange, routing_key, priority, expires (a time, or
 * expire_seconds) and headers, plus a `periodic_task_name` header naming the row. Throws
 * InvalidScheduleError for a row that cannot be fired (the beat then skips it and says why).
 */
export function entryFromRow(row: PeriodicTaskRow, compile: EntryCompileOptions): BeatEntry {
  const args = parseJson(row, 'args', row.args || '[]');
  const kwargs = parseJson(row, 'kwargs', row.kwargs || '{}');
  const headers = parseJson(row, 'headers', row.headers || '{}');
  if (!Array.isArray(args)) throw new InvalidScheduleError(`Periodic task '${row.name}': args must be a JSON list, got ${row.args}`);
  if (!isObject(kwargs)) throw new InvalidScheduleError(`Periodic task '${row.name}': kwargs must be a JSON object, got ${row.kwargs}`);
  if (!isObject(headers)) throw new InvalidScheduleError(`Periodic task '${row.name}': headers must be a JSON object, got ${row.headers}`);
  const sendOptions: SendTaskOptions = { kwargs, headers: { ...headers, periodic_task_name: row.name } };
  if (row.queue) sendOptions.queue = row.queue;
  // Celery routes by exchange and routing key only when both are given; a lone one is ignored as Celery's router does.
  if (row.exchange) sendOptions.exchange = row.exchange;
  if (row.routing_key) sendOptions.routingKey = row.routing_key;
  if (row.priority !== null) sendOptions.priority = row.priority;
  if (row.expires) sendOptions.expires = row.expires;
  else if (row.expire_seconds) sendOptions.expires = row.expire_seconds;
  const { schedule, clocked } = scheduleOfRow(row, compile);
  return {
    id: row.id,
    name: row.name,
    task: row.task,
    schedule,
    args,
    sendOptions,
    enabled: row.enabled,
    oneOff: row.one_off || clocked,
    startTimeMs: row.start_time?.getTime() ?? null,
    // START_NEW_ROWS_SQL gave every row one; a row inserted since counts from now.
    lastRunAtMs: (row.last_run_at ?? row.now).getTime(),
    totalRunCount: row.total_run_count,
  };
}

/**
 * django-celery-beat's `ModelEntry.is_due`: disabled, not started, or a one-off that ran are not
 * due; otherwise the schedule decides from the last run.
 */
export function entryState(entry: BeatEntry, nowMs: number): ScheduleState {
  if (!entry.enabled) return { isDue: false, nextSeconds: DISABLED_RECHECK_SECONDS, lagSeconds: 0 };
  if (entry.startTimeMs !== null && nowMs < entry.startTimeMs) return { isDue: false, nextSeconds: Math.ceil((entry.startTimeMs - nowMs) / 1000), lagSeconds: 0 };
  if (entry.oneOff && entry.totalRunCount > 0) return { isDue: false, nextSeconds: Infinity, lagSeconds: 0 };
  return entry.schedule.isDue({ nowMs, lastRunAtMs: entry.lastRunAtMs });
}

function scheduleOfRow(row: PeriodicTaskRow, { timeZone, rules, relativeNames }: EntryCompileOptions): { schedule: PeriodicSchedule; clocked: boolean } {
  if (row.interval_every !== null) {
    const unit = PERIOD_SECONDS[row.interval_period ?? ''];
    if (unit === undefined) throw new InvalidScheduleError(`Periodic task '${row.name}': interval period '${row.interval_period}' is not one of ${Object.keys(PERIOD_SECONDS).join(', ')}`);
    if (!(row.interval_every > 0)) throw new InvalidScheduleError(`Periodic task '${row.name}': interval every must be at least 1, got ${row.interval_every}`);
    return { schedule: new IntervalSchedule(row.interval_every * unit, { zone: timeZone, rules }, relativeNames?.has(row.name) ?? false), clocked: false };
  }
  if (row.crontab_minute !== null) {
    const zone = row.crontab_timezone || timeZone;
    if (!isKnownTimeZone(zone)) throw new InvalidScheduleError(`Periodic task '${row.name}': crontab timezone '${zone}' is not an IANA time zone such as 'Europe/Paris'`);
    const fields = { minute: row.crontab_minute, hour: row.crontab_hour ?? '*', dayOfWeek: row.crontab_day_of_week ?? '*', dayOfMonth: row.crontab_day_of_month ?? '*', monthOfYear: row.crontab_month_of_year ?? '*' };
    try {
      return { schedule: new CrontabSchedule(fields, { zone, rules }), clocked: false };
    } catch (error) {
      throw new InvalidScheduleError(`Periodic task '${row.name}': ${(error as Error).message}`);
    }
  }
  if (row.clocked_time !== null) return { schedule: new ClockedSchedule(row.clocked_time.getTime()), clocked: true };
  if (row.solar_event !== null) {
    try {
      return { schedule: new SolarSchedule(row.solar_event as SolarEvent, Number(row.solar_latitude), Number(row.solar_longitude), rules), clocked: false };
    } catch (error) {
      throw new InvalidScheduleError(`Periodic task '${row.name}': ${(error as Error).message}`);
    }
  }
  throw new InvalidScheduleError(`Periodic task '${row.name}' has no schedule: set one of interval, crontab, solar, clocked`);
}

function parseJson(row: PeriodicTaskRow, column: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidScheduleError(`Periodic task '${row.name}': ${column} is not JSON: ${text.slice(0, 200)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

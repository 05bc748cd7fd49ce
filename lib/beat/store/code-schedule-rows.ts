import { InvalidScheduleError } from '../../errors/invalid-schedule.error';
import type { BeatSchedule, BeatScheduleEntry, CronFieldSpec, SolarSpec } from '../../task/task-schedule';
import { entryFromRow } from '../beat-entry';
import { DEFAULT_SCHEDULE_RULES, ScheduleRules } from '../schedules/schedule-rules';
import { CODE_TASK_COLUMNS, SCHEDULE_KINDS, SCHEDULE_TABLES, ScheduleKind, ScheduleValues } from './periodic-task-columns';
import type { PeriodicTaskRow } from './periodic-task-row';

/** A schedule of Nest code as django-celery-beat's tables hold it: a PeriodicTask and one schedule row. */
export interface CodeScheduleRow {
  name: string;
  task: string;
  args: string;
  kwargs: string;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  priority: number | null;
  headers: string;
  expireSeconds: number | null;
  oneOff: boolean;
  startTime: Date | null;
  description: string;
  /** Celery's `relative` (interval schedules): not a column, the beat keeps it (EntryCompileOptions.relativeNames). */
  relative: boolean;
  schedule: CodeSchedule;
}

/** One schedule row, by kind, with its values by column (periodic-task-columns.ts). */
export type CodeSchedule = { [K in ScheduleKind]: { kind: K; values: ScheduleValues[K] } }[ScheduleKind];

const PERIODS = ['days', 'hours', 'minutes', 'seconds'];

/**
 * The rows of one code entry, checked by compiling them as the beat will (a bad crontab field, an
 * unknown zone, args that are not a list fail here, at start-up, naming the entry). A bare number
 * of seconds becomes an IntervalSchedule in seconds, as django-celery-beat's `from_schedule`
 * stores Celery's `schedule(run_every)`: whole seconds, at least one.
 */
export function codeScheduleRow(name: string, entry: BeatScheduleEntry, timeZone: string, rules: ScheduleRules = DEFAULT_SCHEDULE_RULES): CodeScheduleRow {
  const where = `beat schedule '${name}'`;
  if (typeof entry !== 'object' || entry === null) throw new InvalidScheduleError(`${where} must be an object such as { task: 'tasks.add', schedule: 30 }`);
  if (typeof entry.task !== 'string' || entry.task === '') throw new InvalidScheduleError(`${where}: task must be the name of a task, such as 'tasks.add'`);
  if (entry.args !== undefined && !Array.isArray(entry.args)) throw new InvalidScheduleError(`${where}: args must be a list`);
  const options = entry.options ?? {};
  const row: CodeScheduleRow = {
    name,
    task: entry.task,
    args: JSON.stringify(entry.args ?? []),
    kwargs: JSON.stringify(entry.kwargs ?? {}),
    queue: options.queue ?? null,
    exchange: options.exchange ?? null,
    routingKey: options.routingKey ?? null,
    priority: options.priority ?? null,
    headers: JSON.stringify(options.headers ?? {}),
    expireSeconds: options.expires ?? null,
    oneOff: entry.oneOff ?? false,
    startTime: entry.startTime === undefined ? null : toDate(where, 'startTime', entry.startTime),
    description: entry.description ?? '',
    relative: entry.relative ?? false,
    schedule: scheduleRow(where, entry.schedule, timeZone),
  };
  if (typeof row.relative !== 'boolean') throw new InvalidScheduleError(`${where}: relative must be true or false`);
  if (row.relative && row.schedule.kind !== 'interval') throw new InvalidScheduleError(`${where}: relative applies to interval schedules only (as Celery's), not to a ${row.schedule.kind} schedule`);
  if (row.priority !== null && (!Number.isInteger(row.priority) || row.priority < 0 || row.priority > 255)) throw new InvalidScheduleError(`${where}: options.priority must be a whole number 0-255`);
  if (row.expireSeconds !== null && (!Number.isInteger(row.expireSeconds) || row.expireSeconds < 0)) throw new InvalidScheduleError(`${where}: options.expires must be whole seconds (django-celery-beat's expire_seconds)`);
  entryFromRow(codeRowAsRead(row), { timeZone, rules }); // throws what the beat would
  return row;
}

function scheduleRow(where: string, schedule: BeatSchedule, timeZone: string): CodeSchedule {
  if (typeof schedule === 'number') return interval(where, schedule, 'seconds');
  if (typeof schedule !== 'object' || schedule === null) {
    throw new InvalidScheduleError(`${where}: schedule must be seconds, { every, period }, { crontab: { minute, hour, … } }, { solar: { event, latitude, longitude } } or { clocked: time }, got ${String(schedule)}`);
  }
  if ('every' in schedule) return interval(where, schedule.every, schedule.period ?? 'seconds');
  if ('crontab' in schedule) {
    const spec = schedule.crontab ?? {};
    const text = (field: CronFieldSpec | undefined) => (field === undefined ? '*' : Array.isArray(field) ? field.join(',') : String(field));
    return {
      kind: 'crontab',
      values: {
        minute: text(spec.minute),
        hour: text(spec.hour),
        day_of_week: text(spec.dayOfWeek),
        day_of_month: text(spec.dayOfMonth),
        month_of_year: text(spec.monthOfYear),
        timezone: spec.timezone ?? timeZone,
      },
    };
  }
  if ('clocked' in schedule) return { kind: 'clocked', values: { clocked_time: toDate(where, 'schedule.clocked', schedule.clocked) } };
  if ('solar' in schedule) {
    const { event, latitude, longitude } = schedule.solar ?? ({} as Partial<SolarSpec>);
    // django-celery-beat's columns are numeric(9, 6): what fires is what the table holds.
    return { kind: 'solar', values: { event: String(event), latitude: toMicroDegrees(latitude), longitude: toMicroDegrees(longitude) } };
  }
  throw new InvalidScheduleError(`${where}: schedule must be seconds, { every, period }, { crontab: { minute, hour, … } }, { solar: { event, latitude, longitude } } or { clocked: time }`);
}

function interval(where: string, every: number, period: string): CodeSchedule {
  if (!PERIODS.includes(period)) throw new InvalidScheduleError(`${where}: period must be one of ${PERIODS.join(', ')}, got '${period}'`);
  if (!Number.isInteger(every) || every < 1) {
    throw new InvalidScheduleError(`${where}: an interval is a whole number of ${period}, at least 1 (django-celery-beat's IntervalSchedule), got ${String(every)}`);
  }
  return { kind: 'interval', values: { every, period } };
}

/** Rounded to django-celery-beat's 6 decimals; a non-number is left for SolarSchedule to refuse. */
function toMicroDegrees(value: unknown): number {
  return typeof value === 'number' ? Math.round(value * 1e6) / 1e6 : (value as number);
}

function toDate(where: string, field: string, value: Date | string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidScheduleError(`${where}: ${field} must be a Date or an ISO 8601 time with an offset, got ${String(value)}`);
  return date;
}

/** The row the beat would read back (never run yet), to check the entry before anything is written. */
export function codeRowAsRead(row: CodeScheduleRow, now = new Date()): PeriodicTaskRow {
  const read: Record<string, unknown> = { id: 0, expires: null, enabled: true, last_run_at: null, total_run_count: 0, now };
  for (const [field, column] of Object.entries(CODE_TASK_COLUMNS)) read[column] = row[field as keyof typeof CODE_TASK_COLUMNS];
  for (const kind of SCHEDULE_KINDS) {
    const values: Record<string, unknown> | null = row.schedule.kind === kind ? row.schedule.values : null;
    for (const [column, as] of Object.entries(SCHEDULE_TABLES[kind].columns)) read[as] = values ? values[column] : null;
  }
  return read as unknown as PeriodicTaskRow;
}

import { DjangoBeatTables as T } from './django-beat-tables';

/**
 * django-celery-beat's columns that the beat reads and Nest code writes: the one list. The
 * beat's SELECT (periodic-task-row.ts), the upsert of the code's schedules
 * (write-code-schedules.ts), the check of a code entry (code-schedule-rows.ts) and the start-up
 * check of the tables' schema (django-beat-schema.ts) are all made from it.
 */

/** PeriodicTask columns that Nest code sets, by CodeScheduleRow field. */
export const CODE_TASK_COLUMNS = {
  name: 'name',
  task: 'task',
  args: 'args',
  kwargs: 'kwargs',
  queue: 'queue',
  exchange: 'exchange',
  routingKey: 'routing_key',
  priority: 'priority',
  headers: 'headers',
  expireSeconds: 'expire_seconds',
  oneOff: 'one_off',
  startTime: 'start_time',
  description: 'description',
} as const;

/** PeriodicTask columns the beat reads that code never sets (admins and runs do). */
export const RUN_TASK_COLUMNS = ['id', 'expires', 'enabled', 'last_run_at', 'total_run_count'] as const;

/** PeriodicTask columns the beat writes but does not read. */
export const WRITTEN_TASK_COLUMNS = ['date_changed'] as const;

/**
 * Each schedule table: its foreign key on PeriodicTask, its alias in the join, and its columns
 * with the name the read row gives each (PeriodicTaskRow).
 */
export const SCHEDULE_TABLES = {
  interval: { table: T.interval, foreignKey: 'interval_id', alias: 'i', columns: { every: 'interval_every', period: 'interval_period' } },
  crontab: {
    table: T.crontab,
    foreignKey: 'crontab_id',
    alias: 'c',
    columns: {
      minute: 'crontab_minute',
      hour: 'crontab_hour',
      day_of_week: 'crontab_day_of_week',
      day_of_month: 'crontab_day_of_month',
      month_of_year: 'crontab_month_of_year',
      timezone: 'crontab_timezone',
    },
  },
  clocked: { table: T.clocked, foreignKey: 'clocked_id', alias: 'k', columns: { clocked_time: 'clocked_time' } },
  solar: { table: T.solar, foreignKey: 'solar_id', alias: 's', columns: { event: 'solar_event', latitude: 'solar_latitude', longitude: 'solar_longitude' } },
} as const;

export type ScheduleKind = keyof typeof SCHEDULE_TABLES;

export const SCHEDULE_KINDS = Object.keys(SCHEDULE_TABLES) as ScheduleKind[];

/** A schedule row's values, by column, as code writes it. */
export interface ScheduleValues {
  interval: { every: number; period: string };
  crontab: { minute: string; hour: string; day_of_week: string; day_of_month: string; month_of_year: string; timezone: string };
  clocked: { clocked_time: Date };
  solar: { event: string; latitude: number; longitude: number };
}

// The values' columns are the tables' columns: a column added to one and not the other fails to compile.
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never;
const sameColumns: { [K in ScheduleKind]: SameKeys<ScheduleValues[K], (typeof SCHEDULE_TABLES)[K]['columns']> } = { interval: true, crontab: true, clocked: true, solar: true };
void sameColumns;

/** Every column the beat needs in each table, to check the schema at start-up. */
export function requiredColumns(): Map<string, string[]> {
  const required = new Map<string, string[]>([[T.periodicTask, [...RUN_TASK_COLUMNS, ...Object.values(CODE_TASK_COLUMNS), ...WRITTEN_TASK_COLUMNS, ...SCHEDULE_KINDS.map((kind) => SCHEDULE_TABLES[kind].foreignKey)]]]);
  for (const kind of SCHEDULE_KINDS) required.set(SCHEDULE_TABLES[kind].table, ['id', ...Object.keys(SCHEDULE_TABLES[kind].columns)]);
  return required;
}

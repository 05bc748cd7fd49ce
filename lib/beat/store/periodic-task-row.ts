import { DjangoBeatTables as T } from './django-beat-tables';
import { CODE_TASK_COLUMNS, RUN_TASK_COLUMNS, SameKeys, SCHEDULE_KINDS, SCHEDULE_TABLES } from './periodic-task-columns';

/**
 * A PeriodicTask row with its schedule, as the beat reads it (node-postgres: timestamps as Date,
 * numeric as text): the columns of periodic-task-columns.ts, schedule columns named as listed there.
 */
export interface PeriodicTaskRow {
  id: number;
  name: string;
  task: string;
  args: string;
  kwargs: string;
  queue: string | null;
  exchange: string | null;
  routing_key: string | null;
  priority: number | null;
  headers: string;
  description: string;
  expires: Date | null;
  expire_seconds: number | null;
  enabled: boolean;
  one_off: boolean;
  start_time: Date | null;
  last_run_at: Date | null;
  total_run_count: number;
  interval_every: number | null;
  interval_period: string | null;
  crontab_minute: string | null;
  crontab_hour: string | null;
  crontab_day_of_week: string | null;
  crontab_day_of_month: string | null;
  crontab_month_of_year: string | null;
  crontab_timezone: string | null;
  clocked_time: Date | null;
  solar_event: string | null;
  /** numeric(9, 6): text from node-postgres. */
  solar_latitude: string | null;
  solar_longitude: string | null;
  /** The database's clock when the row was read: every beat decides by the same clock. */
  now: Date;
}

// The row's fields are the columns listed there: one added to the list and not here fails to compile.
type ReadColumn =
  | (typeof RUN_TASK_COLUMNS)[number]
  | (typeof CODE_TASK_COLUMNS)[keyof typeof CODE_TASK_COLUMNS]
  | { [K in keyof typeof SCHEDULE_TABLES]: (typeof SCHEDULE_TABLES)[K]['columns'][keyof (typeof SCHEDULE_TABLES)[K]['columns']] }[keyof typeof SCHEDULE_TABLES]
  | 'now';
const rowIsColumns: SameKeys<PeriodicTaskRow, Record<ReadColumn, unknown>> = true;
void rowIsColumns;

const TASK_SELECT = [...RUN_TASK_COLUMNS, ...Object.values(CODE_TASK_COLUMNS)].map((column) => `t.${column}`);
const SCHEDULE_SELECT = SCHEDULE_KINDS.flatMap((kind) => Object.entries(SCHEDULE_TABLES[kind].columns).map(([column, as]) => `${SCHEDULE_TABLES[kind].alias}.${column} AS ${as}`));
const SCHEDULE_JOINS = SCHEDULE_KINDS.map((kind) => {
  const { table, alias, foreignKey } = SCHEDULE_TABLES[kind];
  return `LEFT JOIN ${table} ${alias} ON ${alias}.id = t.${foreignKey}`;
});

const SELECT_ROWS = `
  SELECT ${[...TASK_SELECT, ...SCHEDULE_SELECT].join(', ')}, clock_timestamp() AS now
  FROM ${T.periodicTask} t
  ${SCHEDULE_JOINS.join('\n  ')}`;

/** Every row this beat fires: all (scheduler 'django', $1 null) or those named in code ($1). */
export const LOAD_ROWS_SQL = `${SELECT_ROWS} WHERE ($1::text[] IS NULL OR t.name = ANY($1)) ORDER BY t.id`;

/** One row by id ($1), for the dashboard's schedules page. */
export const LOAD_ROW_SQL = `${SELECT_ROWS} WHERE t.id = $1`;

/**
 * A schedule seen for the first time starts counting from now, as django-celery-beat's
 * ModelEntry does with an empty last_run_at; stored, so that every beat counts from the same time.
 */
export const START_NEW_ROWS_SQL = `UPDATE ${T.periodicTask} SET last_run_at = clock_timestamp()
  WHERE last_run_at IS NULL AND ($1::text[] IS NULL OR name = ANY($1))`;

/**
 * The claim: the rows locked for this transaction, among those still as this beat last saw them
 * ($2: their last_run_at, to the millisecond). A row another beat is firing right now is skipped,
 * and so is one it fired meanwhile: neither is locked nor read in full (see READ_RUNS_SQL).
 */
export const CLAIM_ROWS_SQL = `${SELECT_ROWS}
  JOIN unnest($1::int[], $2::timestamptz[]) AS seen(id, last_run_at)
    ON seen.id = t.id AND date_trunc('milliseconds', t.last_run_at) IS NOT DISTINCT FROM seen.last_run_at
  ORDER BY t.id FOR UPDATE OF t SKIP LOCKED`;

/** The run columns of rows a claim skipped: whether another beat fired them (a newer last_run_at) or is firing them now. */
export const READ_RUNS_SQL = `SELECT id, last_run_at, total_run_count, enabled, clock_timestamp() AS now FROM ${T.periodicTask} WHERE id = ANY($1::int[])`;

export interface RunColumns {
  id: number;
  last_run_at: Date | null;
  total_run_count: number;
  enabled: boolean;
  now: Date;
}

/** Records the runs fired, in the claim's transaction: last_run_at, the count, and one-offs disabled. */
export const RECORD_RUNS_SQL = `UPDATE ${T.periodicTask} AS t
  SET last_run_at = fired.at, total_run_count = t.total_run_count + 1, enabled = t.enabled AND NOT fired.disable
  FROM unnest($1::int[], $2::timestamptz[], $3::boolean[]) AS fired(id, at, disable) WHERE t.id = fired.id`;

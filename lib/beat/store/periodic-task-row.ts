import { DjangoBeatTables as T } from './django-beat-tables';

/** A PeriodicTask row with its schedule, as the beat reads it (node-postgres: timestamps as Date, numeric as text). */
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

const SELECT_ROWS = `
  SELECT t.id, t.name, t.task, t.args, t.kwargs, t.queue, t.exchange, t.routing_key, t.priority, t.headers,
    t.expires, t.expire_seconds, t.enabled, t.one_off, t.start_time, t.last_run_at, t.total_run_count,
    i.every AS interval_every, i.period AS interval_period,
    c.minute AS crontab_minute, c.hour AS crontab_hour, c.day_of_week AS crontab_day_of_week,
    c.day_of_month AS crontab_day_of_month, c.month_of_year AS crontab_month_of_year, c.timezone AS crontab_timezone,
    k.clocked_time, s.event AS solar_event, s.latitude AS solar_latitude, s.longitude AS solar_longitude, clock_timestamp() AS now
  FROM ${T.periodicTask} t
  LEFT JOIN ${T.interval} i ON i.id = t.interval_id
  LEFT JOIN ${T.crontab} c ON c.id = t.crontab_id
  LEFT JOIN ${T.clocked} k ON k.id = t.clocked_id
  LEFT JOIN ${T.solar} s ON s.id = t.solar_id`;

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

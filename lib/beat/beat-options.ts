import type { DataSource } from 'typeorm';
import type { BeatScheduleEntry } from '../task/task-schedule';
import { optionKeys } from '../utils/option-keys';
import { DEFAULT_SCHEDULE_RULES, ScheduleRules } from './schedules/schedule-rules';

/**
 * The `beat` module option: this process fires periodic tasks (`celery beat`'s counterpart; in a
 * worker, `celery worker -B`'s). Any number of processes may run one on the same PostgreSQL
 * database: each due run is fired once. Schedules live in django-celery-beat's tables there.
 */
export interface BeatModuleOptions {
  /** Periodic tasks by name (Celery: `beat_schedule`), written to the tables at start-up so Django's admin sees them. */
  schedule?: Record<string, BeatScheduleEntry>;
  /**
   * 'default': fire the schedules of Nest code (this option and `@CeleryTask({ schedule })`).
   * 'django': fire every enabled row of django-celery-beat's tables too, as Celery's
   * `django_celery_beat.schedulers:DatabaseScheduler` does (Celery: `beat_scheduler`). Default 'default'.
   */
  scheduler?: 'default' | 'django';
  /** PostgreSQL URL of the schedule tables. Default: the database result backend's. */
  url?: string;
  /** Or the app's TypeORM DataSource (PostgreSQL). */
  dataSource?: DataSource;
  /** IANA time zone of schedules that name none (Celery: `timezone`). Default UTC. */
  timezone?: string;
  /** false with no `timezone`: the system's time zone (Celery: `enable_utc`). Default true. */
  enableUtc?: boolean;
  /** Create django-celery-beat's tables (when Django has not), our triggers, and the outbox table at start-up. Default true. */
  migrationsRun?: boolean;
  /**
   * Which Celery's time arithmetic schedules follow across DST changes: 'celery-5.3' (Celery 5.3
   * to 5.6, the default) or 'celery-5.2' (Debian's python3-celery 5.2.6). Pick the one your Python
   * beat ran, so moving a deployment to this beat changes no run time (docs/BEAT.md).
   */
  scheduleRules?: ScheduleRules;
  /** Longest sleep between two looks at the schedules, ms, when no change is notified (Celery: `beat_max_loop_interval`). Default 1000. */
  maxIntervalMs?: number;
}

export const BEAT_OPTION_KEYS = optionKeys<BeatModuleOptions>()('schedule', 'scheduler', 'url', 'dataSource', 'timezone', 'enableUtc', 'migrationsRun', 'maxIntervalMs', 'scheduleRules');

export const BEAT_ENTRY_KEYS = optionKeys<BeatScheduleEntry>()('task', 'schedule', 'args', 'kwargs', 'options', 'startTime', 'oneOff', 'description', 'relative');

/** The beat options with every default applied; the database is the beat's or the result backend's. */
export interface ResolvedBeatOptions extends ScheduleClock {
  schedule: Record<string, BeatScheduleEntry>;
  scheduler: 'default' | 'django';
  url?: string;
  dataSource?: DataSource;
  migrationsRun: boolean;
  maxIntervalMs: number;
}

/** Celery's `app.timezone`: `timezone`, else UTC, else (enable_utc off) the system's zone. */
export function beatTimeZone(options: Pick<BeatModuleOptions, 'timezone' | 'enableUtc'>): string {
  if (options.timezone) return options.timezone;
  return options.enableUtc === false ? Intl.DateTimeFormat().resolvedOptions().timeZone : 'UTC';
}

/**
 * How schedules' times are computed: Celery's `timezone` and which Celery's DST arithmetic. Resolved
 * even where this process fires nothing (an API process's dashboard shows the next runs the beats
 * will compute from the same `beat` options).
 */
export interface ScheduleClock {
  timezone: string;
  scheduleRules: ScheduleRules;
  /**
   * The code schedules declared `relative: true` (Celery's flag; django-celery-beat's tables have
   * no column for it, so beats and dashboards learn it from the same `beat.schedule` option).
   */
  relativeNames: ReadonlySet<string>;
}

export function resolveScheduleClock(options: BeatModuleOptions | false | undefined): ScheduleClock {
  const given = options || {};
  const relativeNames = new Set(Object.entries(given.schedule ?? {}).flatMap(([name, entry]) => (entry?.relative === true ? [name] : [])));
  return { timezone: beatTimeZone(given), scheduleRules: given.scheduleRules ?? DEFAULT_SCHEDULE_RULES, relativeNames };
}

/** null when the module has no `beat` option (or `beat: false`): this process fires nothing. */
export function resolveBeatOptions(options: BeatModuleOptions | false | undefined, database: { url?: string; dataSource?: DataSource }): ResolvedBeatOptions | null {
  if (options === undefined || options === false) return null;
  const own = options.url !== undefined || options.dataSource !== undefined;
  return {
    schedule: options.schedule ?? {},
    scheduler: options.scheduler ?? 'default',
    url: own ? options.url : database.url,
    dataSource: own ? options.dataSource : database.dataSource,
    ...resolveScheduleClock(options),
    migrationsRun: options.migrationsRun ?? true,
    maxIntervalMs: options.maxIntervalMs ?? 1000,
  };
}

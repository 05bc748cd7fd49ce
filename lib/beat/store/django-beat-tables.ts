/**
 * django-celery-beat's tables (2.4.0, the version Debian ships): where every schedule lives,
 * whether a Django admin made it or Nest code declared it. Our migration creates them when Django
 * has not; every query of the beat reads the names from here.
 */
export const DjangoBeatTables = {
  periodicTask: 'django_celery_beat_periodictask',
  /** One row (ident 1) whose `last_update` django-celery-beat's Python scheduler watches for changes. */
  periodicTasksChanged: 'django_celery_beat_periodictasks',
  interval: 'django_celery_beat_intervalschedule',
  crontab: 'django_celery_beat_crontabschedule',
  clocked: 'django_celery_beat_clockedschedule',
  solar: 'django_celery_beat_solarschedule',
} as const;

/** Our additions to those tables: the triggers that wake every beat on a change, within 1 s. */
export const BeatChangeNotice = {
  /** The LISTEN/NOTIFY channel. */
  channel: 'celery_beat_changed',
  taskFunction: 'celery_beat_task_changed',
  scheduleFunction: 'celery_beat_schedule_changed',
  trigger: 'celery_beat_notify',
} as const;

/** Advisory lock key held while Nest code writes its schedules into the tables ("celb"). */
export const WRITE_SCHEDULES_LOCK_KEY = 0x63656c62;

/**
 * Our guard on `periodictask`: a save that writes back run columns it read before a beat recorded
 * a run (an ORM read-modify-write, as Django's admin does) keeps the recorded run.
 */
export const BeatRunGuard = {
  function: 'celery_beat_keep_recorded_runs',
  trigger: 'celery_beat_keep_runs',
} as const;

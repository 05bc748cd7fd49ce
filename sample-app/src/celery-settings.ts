import { join } from 'node:path';
import { celeryOptionsFromEnv, CeleryModuleOptions } from '../../lib';
import type { BeatModuleOptions } from '../../lib/advanced';

/**
 * CeleryModule options from the environment: Celery's own setting names through
 * celeryOptionsFromEnv() (CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_TASK_ACKS_LATE,
 * CELERY_TASK_REJECT_ON_WORKER_LOST, CELERY_TASK_TRACK_STARTED, CELERY_WORKER_SEND_TASK_EVENTS,
 * CELERY_TASK_SEND_SENT_EVENT, CELERY_WORKER_POOL=process with CELERY_WORKER_MAX_TASKS_PER_CHILD,
 * CELERY_WORKER_MAX_MEMORY_PER_CHILD and CELERY_WORKER_AUTOSCALE…), so a Python worker and this app share one environment file, and
 * the sample's own names for what Celery has no setting for: CELERY_QUEUES (comma-separated; the
 * first is the default queue), CELERY_CONCURRENCY, CELERY_HOSTNAME, CELERY_WORKER_LOG_TASKS.
 * Under the worker CLI its flags win over all of these. The beat (beatOptionsFromEnvironment) runs
 * in a beat process, and in a worker with CELERY_BEAT=true (`celery worker -B`).
 */
export function celeryOptionsFromEnvironment(env: NodeJS.ProcessEnv, role: { worker: boolean; beat?: boolean }): CeleryModuleOptions {
  const celery = celeryOptionsFromEnv(env);
  const queues = (env.CELERY_QUEUES ?? 'celery').split(',').map((queue) => queue.trim()).filter(Boolean);
  return {
    ...celery,
    defaultQueue: celery.defaultQueue ?? queues[0],
    worker: role.worker
      ? {
          ...celery.worker,
          queues,
          concurrency: env.CELERY_CONCURRENCY ? Number(env.CELERY_CONCURRENCY) : celery.worker?.concurrency,
          hostname: env.CELERY_HOSTNAME || undefined,
          logTasks: flag(env.CELERY_WORKER_LOG_TASKS),
          // With CELERY_WORKER_POOL=process each pool child creates the sample's worker module (worker.module.ts).
          poolModule: { path: join(__dirname, 'worker.module.js'), export: 'WorkerModule' },
        }
      : false,
    beat: role.beat || (role.worker && flag(env.CELERY_BEAT)) ? beatOptionsFromEnvironment(env) : false,
  };
}

/**
 * The beat's settings: CELERY_BEAT_SCHEDULER=django fires every row of django-celery-beat's tables
 * (Celery's `beat_scheduler`, django_celery_beat.schedulers:DatabaseScheduler), otherwise the code's
 * schedules only; the tables are in CELERY_BEAT_DATABASE_URL, by default the database of
 * CELERY_RESULT_BACKEND; CELERY_TIMEZONE and CELERY_ENABLE_UTC as Celery's `timezone` / `enable_utc`;
 * CELERY_BEAT_SCHEDULE_RULES=celery-5.2 for Celery 5.2's DST arithmetic (checked at start-up).
 * Any number of beat processes may run on one database.
 */
export function beatOptionsFromEnvironment(env: NodeJS.ProcessEnv): BeatModuleOptions {
  const scheduler = env.CELERY_BEAT_SCHEDULER?.trim();
  return {
    scheduler: scheduler === 'django' || scheduler === 'django_celery_beat.schedulers:DatabaseScheduler' ? 'django' : 'default',
    url: env.CELERY_BEAT_DATABASE_URL?.trim() || undefined,
    timezone: env.CELERY_TIMEZONE?.trim() || undefined,
    enableUtc: flag(env.CELERY_ENABLE_UTC),
    scheduleRules: (env.CELERY_BEAT_SCHEDULE_RULES?.trim() || undefined) as BeatModuleOptions['scheduleRules'],
  };
}

/** Celery reads booleans from the environment as true/false, 1/0, yes/no, on/off. */
function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return ['true', '1', 'yes', 'on'].includes(value.trim().toLowerCase());
}

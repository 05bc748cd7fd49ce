import { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
import type { WorkerModuleOptions } from '../worker/worker-module-options';
import type { CeleryModuleOptions } from './celery-module-options';

/** Celery's setting → its environment name (Django's `CELERY_` namespace) → our option. */
const STRING_SETTINGS = {
  CELERY_BROKER_URL: 'broker',
  CELERY_RESULT_BACKEND: 'backend',
  CELERY_TASK_DEFAULT_QUEUE: 'defaultQueue',
  CELERY_TASK_DEFAULT_QUEUE_TYPE: 'taskDefaultQueueType',
} as const;
const APP_FLAGS = { CELERY_TASK_SEND_SENT_EVENT: 'sendSentEvent' } as const;
const WORKER_FLAGS = {
  CELERY_TASK_ACKS_LATE: 'acksLate',
  CELERY_TASK_REJECT_ON_WORKER_LOST: 'rejectOnWorkerLost',
  CELERY_TASK_TRACK_STARTED: 'trackStarted',
  CELERY_TASK_IGNORE_RESULT: 'ignoreResult',
  CELERY_WORKER_SEND_TASK_EVENTS: 'sendTaskEvents',
  CELERY_WORKER_POOL_RESTARTS: 'poolRestarts',
} as const;
const WORKER_COUNTS = {
  CELERY_WORKER_CONCURRENCY: 'concurrency',
  CELERY_WORKER_PREFETCH_MULTIPLIER: 'prefetchMultiplier',
  CELERY_WORKER_MAX_TASKS_PER_CHILD: 'maxTasksPerChild',
  // KiB, as Celery's worker_max_memory_per_child.
  CELERY_WORKER_MAX_MEMORY_PER_CHILD: 'maxMemoryPerChild',
} as const;
/** Celery's `worker_pool` names → ours: prefork is the process pool, solo the inline one. */
const POOL_NAMES: Record<string, 'inline' | 'process'> = { process: 'process', prefork: 'process', inline: 'inline', solo: 'inline' };

/**
 * CeleryModule options from environment variables named as Celery's settings: the names a Django
 * project configured with `app.config_from_object('django.conf:settings', namespace='CELERY')`
 * reads (`CELERY_BROKER_URL` — several separated by `;` fail over —, `CELERY_RESULT_BACKEND`,
 * `CELERY_TASK_DEFAULT_QUEUE`, `CELERY_TASK_DEFAULT_QUEUE_TYPE`,
 * `CELERY_TASK_ACKS_LATE`, `CELERY_TASK_REJECT_ON_WORKER_LOST`, `CELERY_TASK_TRACK_STARTED`,
 * `CELERY_TASK_IGNORE_RESULT`, `CELERY_TASK_SEND_SENT_EVENT`, `CELERY_WORKER_CONCURRENCY`,
 * `CELERY_WORKER_PREFETCH_MULTIPLIER`, `CELERY_WORKER_SEND_TASK_EVENTS`, and the process pool's
 * `CELERY_WORKER_POOL` (process or prefork, inline or solo), `CELERY_WORKER_MAX_TASKS_PER_CHILD`,
 * `CELERY_WORKER_MAX_MEMORY_PER_CHILD` (KiB), `CELERY_WORKER_AUTOSCALE=max,min` and
 * `CELERY_WORKER_POOL_RESTARTS`; Celery itself reads the
 * first two from the environment), so the Python and Nest sides of a deployment share one
 * environment file. Only the variables set (and not empty) appear in the result, to spread under
 * your own options: `CeleryModule.forRoot({ ...celeryOptionsFromEnv(), worker: false })`. Booleans
 * are true/false, 1/0, yes/no or on/off; a value that is none of those, or a count that is not a
 * positive whole number, throws InvalidCeleryOptionsError naming the variable. The worker's node
 * name and queues have no Celery setting (`-n`, `-Q`): give them to the worker CLI.
 */
export function celeryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CeleryModuleOptions & { worker?: WorkerModuleOptions } {
  const problems: string[] = [];
  const options: Record<string, unknown> = {};
  const worker: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(STRING_SETTINGS)) {
    const value = read(env, name);
    if (value !== undefined) options[key] = value;
  }
  for (const [name, key] of Object.entries(APP_FLAGS)) readFlag(env, name, options, key, problems);
  for (const [name, key] of Object.entries(WORKER_FLAGS)) readFlag(env, name, worker, key, problems);
  for (const [name, key] of Object.entries(WORKER_COUNTS)) {
    const value = read(env, name);
    if (value === undefined) continue;
    if (/^[1-9][0-9]*$/.test(value)) worker[key] = Number(value);
    else problems.push(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  readPool(env, worker, problems);
  if (problems.length > 0) throw new InvalidCeleryOptionsError(problems);
  if (Object.keys(worker).length > 0) options.worker = worker as WorkerModuleOptions;
  return options as CeleryModuleOptions & { worker?: WorkerModuleOptions };
}

/** CELERY_WORKER_POOL (process/prefork or inline/solo) and CELERY_WORKER_AUTOSCALE=max,min (Celery's --autoscale). */
function readPool(env: NodeJS.ProcessEnv, worker: Record<string, unknown>, problems: string[]): void {
  const pool = read(env, 'CELERY_WORKER_POOL');
  if (pool !== undefined) {
    if (POOL_NAMES[pool.toLowerCase()]) worker.pool = POOL_NAMES[pool.toLowerCase()];
    else problems.push(`CELERY_WORKER_POOL must be process (or prefork) or inline (or solo), got ${JSON.stringify(pool)}`);
  }
  const autoscale = read(env, 'CELERY_WORKER_AUTOSCALE');
  if (autoscale === undefined) return;
  const match = /^([1-9][0-9]*)\s*,\s*([1-9][0-9]*)$/.exec(autoscale);
  if (match && Number(match[1]) >= Number(match[2])) worker.autoscale = { max: Number(match[1]), min: Number(match[2]) };
  else problems.push(`CELERY_WORKER_AUTOSCALE must be max,min with whole numbers 1 ≤ min ≤ max (Celery's --autoscale=10,3), got ${JSON.stringify(autoscale)}`);
}

/** Unset and empty are the same: an environment file's `CELERY_X=` sets nothing. */
function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function readFlag(env: NodeJS.ProcessEnv, name: string, into: Record<string, unknown>, key: string, problems: string[]): void {
  const value = read(env, name)?.toLowerCase();
  if (value === undefined) return;
  if (['true', '1', 'yes', 'on'].includes(value)) into[key] = true;
  else if (['false', '0', 'no', 'off'].includes(value)) into[key] = false;
  else problems.push(`${name} must be true or false (or 1/0, yes/no, on/off), got ${JSON.stringify(env[name])}`);
}

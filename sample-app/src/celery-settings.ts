import { CeleryModuleOptions } from '../../lib';

/**
 * CeleryModule options from the environment, with Celery's own setting names, so a Python
 * worker and this app can share one environment file.
 */
export function celeryOptionsFromEnvironment(env: NodeJS.ProcessEnv, role: { worker: boolean }): CeleryModuleOptions {
  const queues = (env.CELERY_QUEUES ?? 'celery').split(',').map((queue) => queue.trim()).filter(Boolean);
  return {
    broker: env.CELERY_BROKER_URL || undefined,
    backend: env.CELERY_RESULT_BACKEND || undefined,
    defaultQueue: queues[0],
    sendSentEvent: flag(env.CELERY_TASK_SEND_SENT_EVENT),
    worker: role.worker
      ? {
          queues,
          concurrency: env.CELERY_CONCURRENCY ? Number(env.CELERY_CONCURRENCY) : undefined,
          hostname: env.CELERY_HOSTNAME || undefined,
          acksLate: flag(env.CELERY_TASK_ACKS_LATE),
          rejectOnWorkerLost: flag(env.CELERY_TASK_REJECT_ON_WORKER_LOST),
          trackStarted: flag(env.CELERY_TASK_TRACK_STARTED),
          sendTaskEvents: flag(env.CELERY_WORKER_SEND_TASK_EVENTS),
          // Set by the worker CLI (nestjs-celery-worker) for --loglevel info and debug.
          logTasks: flag(env.CELERY_WORKER_LOG_TASKS),
        }
      : false,
  };
}

/** Celery reads booleans from the environment as true/false, 1/0, yes/no, on/off. */
function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return ['true', '1', 'yes', 'on'].includes(value.trim().toLowerCase());
}

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
    worker: role.worker
      ? {
          queues,
          concurrency: env.CELERY_CONCURRENCY ? Number(env.CELERY_CONCURRENCY) : undefined,
          hostname: env.CELERY_HOSTNAME || undefined,
        }
      : false,
  };
}

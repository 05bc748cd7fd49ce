/**
 * How a process knows it is a process-pool child: lib/pool-child.main.ts, the script the pool
 * forks, sets this registered symbol on globalThis before it loads the application's module, and
 * the runtime reads it (runtime-roles.ts) to serve the pool instead of consuming. In memory, so no
 * process the application itself starts inherits it; the module to load comes in the environment
 * variables below, which the child removes as soon as it has read them.
 */
export const POOL_CHILD_CHANNEL = Symbol.for('nestjs-celery.pool-child');
export const POOL_MODULE_ENV = 'NESTJS_CELERY_POOL_MODULE';
export const POOL_EXPORT_ENV = 'NESTJS_CELERY_POOL_EXPORT';

export function isPoolChild(): boolean {
  return (globalThis as Record<symbol, unknown>)[POOL_CHILD_CHANNEL] === true;
}

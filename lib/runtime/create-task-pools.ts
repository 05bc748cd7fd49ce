import { join } from 'node:path';
import type { CeleryLogger } from '../utils/logger';
import { POOL_EXPORT_ENV, POOL_MODULE_ENV } from '../worker/pool/pool-child-channel';
import { ProcessPool } from '../worker/pool/process-pool';
import { TaskPools } from '../worker/pool/task-pools';
import type { WorkerOptions } from '../worker/worker-options';

/** Celery's AUTOSCALE_KEEPALIVE: seconds without growth before the autoscaler shrinks the pool (default 30, as Celery). */
const AUTOSCALE_KEEPALIVE_SECONDS = Number(process.env.AUTOSCALE_KEEPALIVE) > 0 ? Number(process.env.AUTOSCALE_KEEPALIVE) : 30;

/** A child that has not created the application in this time counts as failed (a module that hangs at start-up). */
const CHILD_BOOT_TIMEOUT_MS = 60_000;

/**
 * The worker's pools from its options: always the inline one; the process pool when a module is
 * known for its children (worker.poolModule, or the worker CLI's --module). Children run
 * lib/pool-child.main.js beside this file's folder, with node's own flags (process.execArgv).
 */
export function createTaskPools(options: WorkerOptions, logger: CeleryLogger): TaskPools {
  const module = options.poolModule;
  const processPool = module
    ? new ProcessPool(
        {
          processes: options.autoscale ? options.autoscale.min : options.concurrency,
          maxTasksPerChild: options.maxTasksPerChild,
          maxMemoryPerChildKib: options.maxMemoryPerChild,
          launch: {
            entry: join(__dirname, '..', 'pool-child.main.js'),
            env: { ...process.env, [POOL_MODULE_ENV]: module.path, [POOL_EXPORT_ENV]: module.export ?? 'AppModule' },
            bootTimeoutMs: CHILD_BOOT_TIMEOUT_MS,
          },
        },
        logger,
      )
    : null;
  return new TaskPools(options.pool, processPool, options.autoscale, AUTOSCALE_KEEPALIVE_SECONDS);
}

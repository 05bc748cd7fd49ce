import type { Broker } from '../broker/broker.interface';
import type { CeleryConfig } from './celery-config';
import { brokerConnectionInfo } from '../remote-control/broker-connection-info';
import type { TaskEventSwitch } from '../events/task-event-switch';
import { ControlServer } from '../remote-control/control-server';
import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import { maskUrl } from '../utils/mask-secrets';
import type { CeleryWorker } from '../worker/celery-worker';

/**
 * The worker's remote-control server, attached to it so that it stops when the worker stops,
 * whoever stops it (the lifecycle, CeleryServer, or the application). It starts in a startup
 * step of the worker, after Mingle (createCeleryRuntime), so every start() of the worker starts it.
 */
export function createControlServer(
  config: CeleryConfig,
  parts: { broker: Broker; worker: CeleryWorker; clock: LamportClock; logger: CeleryLogger; taskEvents?: TaskEventSwitch },
): ControlServer {
  const { broker, worker, clock, logger, taskEvents } = parts;
  const control = new ControlServer({
    broker,
    worker,
    clock,
    logger,
    brokerInfo: brokerConnectionInfo(config.broker),
    settings: celeryConf(config, worker),
    taskEvents,
  });
  worker.addMonitor(control);
  return control;
}

/** What `celery inspect conf` shows of this app: its settings in Celery's names, passwords masked. */
function celeryConf(config: CeleryConfig, worker: CeleryWorker): Record<string, unknown> {
  const { options } = worker;
  return {
    broker_url: maskUrl(config.broker.url),
    result_backend: describeBackend(config.backend),
    task_default_queue: config.defaultQueue,
    worker_concurrency: options.concurrency,
    worker_prefetch_multiplier: options.prefetchMultiplier,
    // Celery's names for our pools: the process pool is its prefork, the event loop its solo.
    worker_pool: options.pool === 'process' ? 'prefork' : 'solo',
    worker_max_tasks_per_child: options.maxTasksPerChild,
    worker_max_memory_per_child: options.maxMemoryPerChild,
    worker_pool_restarts: options.poolRestarts,
    task_acks_late: options.acksLate,
    task_reject_on_worker_lost: options.rejectOnWorkerLost,
    task_track_started: options.trackStarted,
    task_ignore_result: options.ignoreResult,
  };
}

/** The result backend for logs and `conf`, passwords masked; null for none. */
export function describeBackend(backend: CeleryConfig['backend']): string | null {
  if (backend === null) return null;
  if (backend.url) return maskUrl(backend.url);
  return backend.dataSource ? "the application's TypeORM DataSource" : 'embedded://';
}

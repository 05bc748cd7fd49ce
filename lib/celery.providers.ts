import { Logger, Provider } from '@nestjs/common';
import { AlertListeners } from './alerts/alert-listeners';
import { CeleryAlerts } from './alerts/celery-alerts';
import { BrokerConnectionEvents } from './broker/broker-connection-events';
import { QueueCatalog } from './broker/queue-catalog';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_LOGGER_CONTEXT, CELERY_MODULE_OPTIONS, CELERY_RESULT_BACKEND, CELERY_RUNTIME } from './celery.constants';
import { CeleryClient } from './client/celery-client';
import { ControlServer } from './remote-control/control-server';
import { WorkerEventsMonitor } from './worker/worker-events-monitor';
import { CeleryModuleOptions } from './runtime/celery-module-options';
import { CeleryMetrics } from './metrics/celery-metrics';
import { ClusterMonitor } from './monitoring/cluster-monitor';
import { CeleryOutbox } from './outbox/celery-outbox';
import { LamportClock } from './protocol/lamport-clock';
import { CeleryRuntime, CeleryRuntimeParts } from './runtime/celery-runtime';
import { createCeleryRuntime } from './runtime/create-celery-runtime';
import { CeleryWorker } from './worker/celery-worker';
import { TaskSignals } from './worker/task-signals';
import { TaskRegistry } from './task/task-registry';

/** A part of the runtime as a provider: Nest injects what createCeleryRuntime() built, nothing is built twice. */
function part<K extends keyof CeleryRuntimeParts>(token: string | symbol | Function, key: K): Provider {
  return { provide: token, useFactory: (runtime: CeleryRuntime) => runtime.parts[key], inject: [CELERY_RUNTIME] };
}

/**
 * The module's providers: the runtime, built once by the framework-free composition root
 * (runtime/create-celery-runtime.ts) while the module initialises — so anything injected
 * afterwards can send at once — and each of its parts under the token users inject.
 */
export const celeryProviders: Provider[] = [
  {
    provide: CELERY_RUNTIME,
    useFactory: (options: CeleryModuleOptions) => createCeleryRuntime(options, { logger: new Logger(CELERY_LOGGER_CONTEXT) }),
    inject: [CELERY_MODULE_OPTIONS],
  },
  part(CELERY_CONFIG, 'config'),
  part(CELERY_BROKER, 'broker'),
  part(CELERY_RESULT_BACKEND, 'backend'),
  part(BrokerConnectionEvents, 'connectionEvents'),
  part(QueueCatalog, 'queues'),
  part(LamportClock, 'clock'),
  part(TaskRegistry, 'registry'),
  part(TaskSignals, 'signals'),
  part(AlertListeners, 'alertListeners'),
  part(CeleryClient, 'client'),
  part(CeleryOutbox, 'outbox'),
  /** null with `worker: false`, as are the worker's remote control and events. */
  part(CeleryWorker, 'worker'),
  part(ControlServer, 'control'),
  part(WorkerEventsMonitor, 'workerEvents'),
  /** null unless the `metrics` option is on. */
  part(CeleryMetrics, 'metrics'),
  part(ClusterMonitor, 'monitor'),
  /** null unless the `alerts` option is set. */
  part(CeleryAlerts, 'alerts'),
];

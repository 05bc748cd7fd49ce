import { Logger, Provider } from '@nestjs/common';
import { AlertListeners } from './alerts/alert-listeners';
import { CeleryAlerts } from './alerts/celery-alerts';
import { createCeleryAlerts } from './alerts/create-celery-alerts';
import { ClusterMonitor } from './monitoring/cluster-monitor';
import { ResultBackend } from './backend/result-backend.interface';
import { Broker } from './broker/broker.interface';
import { BrokerConnectionEvents } from './broker/broker-connection-events';
import { QueueCatalog } from './broker/queue-catalog';
import { CeleryConfig, resolveCeleryConfig } from './celery-config';
import { connectBroker, connectResultBackend } from './celery-connections';
import { createControlServer } from './celery-remote-control';
import { validateCeleryOptions } from './celery-options.validator';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_LOGGER_CONTEXT, CELERY_MODULE_OPTIONS, CELERY_RESULT_BACKEND } from './celery.constants';
import { CanvasWorkflowSteps } from './canvas/canvas-workflow-steps';
import { chordUnlockTask } from './canvas/chord-unlock.task';
import { CeleryClient } from './client/celery-client';
import { TaskRouter } from './client/task-router';
import { ControlServer } from './control/control-server';
import { attachWorkerEvents } from './events/attach-worker-events';
import { TaskSentEvents } from './events/task-sent-events';
import { WorkerEventsMonitor } from './events/worker-events-monitor';
import { CeleryModuleOptions } from './interfaces/celery-module-options.interface';
import { attachCeleryMetrics } from './metrics/attach-celery-metrics';
import { CeleryMetrics } from './metrics/celery-metrics';
import { LamportClock } from './protocol/lamport-clock';
import { CeleryWorker } from './worker/celery-worker';
import { DEFAULT_WORKER_OPTIONS } from './worker/worker-options';
import { TaskRegistry } from './worker/task-registry';
import { TaskHooks } from './worker/task-hooks';
import { isRevokedTaskStore } from './worker/revoked-tasks';
import { TaskProgressLog } from './worker/task-progress-log';
import { CeleryOutbox } from './outbox/celery-outbox';

const logger = new Logger(CELERY_LOGGER_CONTEXT);

/**
 * The module's providers: options are validated once, then the broker and the result backend
 * connect while the module initialises, so anything injected afterwards can send at once.
 */
export const celeryProviders: Provider[] = [
  {
    provide: CELERY_CONFIG,
    useFactory: (options: CeleryModuleOptions): CeleryConfig => resolveCeleryConfig(validateCeleryOptions(options)),
    inject: [CELERY_MODULE_OPTIONS],
  },
  { provide: BrokerConnectionEvents, useFactory: () => new BrokerConnectionEvents() },
  {
    provide: CELERY_BROKER,
    useFactory: (config: CeleryConfig, events: BrokerConnectionEvents): Promise<Broker> => connectBroker(config, logger, events),
    inject: [CELERY_CONFIG, BrokerConnectionEvents],
  },
  {
    provide: CELERY_RESULT_BACKEND,
    useFactory: (config: CeleryConfig, broker: Broker): Promise<ResultBackend> => connectResultBackend(config, broker, logger),
    inject: [CELERY_CONFIG, CELERY_BROKER],
  },
  {
    provide: QueueCatalog,
    useFactory: (config: CeleryConfig) => new QueueCatalog(config.queues),
    inject: [CELERY_CONFIG],
  },
  { provide: TaskRegistry, useFactory: () => new TaskRegistry() },
  { provide: TaskHooks, useFactory: () => new TaskHooks(logger) },
  /** The app's `@OnCeleryAlert()` methods, filled by the explorer. */
  { provide: AlertListeners, useFactory: () => new AlertListeners() },
  /** Celery's `app.clock`: one per app, shared by the client and the worker's remote control. */
  { provide: LamportClock, useFactory: () => new LamportClock() },
  {
    provide: CeleryClient,
    useFactory: (config: CeleryConfig, broker: Broker, backend: ResultBackend, queues: QueueCatalog, registry: TaskRegistry, clock: LamportClock) =>
      new CeleryClient({
        broker,
        backend,
        queues,
        defaultQueue: config.defaultQueue,
        router: new TaskRouter(config.taskRoutes),
        registry,
        clock,
        signer: config.security.signer,
        sentEvents: config.events.sendSentEvent ? new TaskSentEvents({ broker, clock, logger }) : undefined,
      }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CELERY_RESULT_BACKEND, QueueCatalog, TaskRegistry, LamportClock],
  },
  {
    /** The transactional outbox; its relay starts at application bootstrap (CeleryLifecycle). */
    provide: CeleryOutbox,
    useFactory: (config: CeleryConfig, client: CeleryClient) => new CeleryOutbox(client, config.outbox, logger),
    inject: [CELERY_CONFIG, CeleryClient],
  },
  {
    provide: CeleryWorker,
    useFactory: (config: CeleryConfig, broker: Broker, backend: ResultBackend, queues: QueueCatalog, registry: TaskRegistry, hooks: TaskHooks, client: CeleryClient) => {
      // Celery's built-in join of database-backend chords: a queue shared with Python may carry it.
      registry.register(chordUnlockTask(client));
      return new CeleryWorker({
        hooks,
        broker,
        backend,
        registry,
        logger,
        options: config.worker ?? { ...DEFAULT_WORKER_OPTIONS, queues: [config.defaultQueue] },
        declareQueue: (name, requested) => queues.declaration(name, requested),
        // The database backend keeps revoked ids across restarts; others leave them in memory, as Celery does.
        revokedStore: isRevokedTaskStore(backend) ? backend : undefined,
        monitors: config.logTasks ? [new TaskProgressLog(logger)] : undefined,
        workflow: new CanvasWorkflowSteps(client, logger),
        security: config.security,
      });
    },
    inject: [CELERY_CONFIG, CELERY_BROKER, CELERY_RESULT_BACKEND, QueueCatalog, TaskRegistry, TaskHooks, CeleryClient],
  },
  {
    /** The worker's Celery events (Flower, `celery events`); also the switch of `enable_events` / `disable_events`. */
    provide: WorkerEventsMonitor,
    useFactory: (config: CeleryConfig, broker: Broker, worker: CeleryWorker, clock: LamportClock) =>
      attachWorkerEvents(worker, { broker, clock, logger, sendTaskEvents: config.events.sendTaskEvents, heartbeatIntervalSeconds: config.events.heartbeatIntervalSeconds }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CeleryWorker, LamportClock],
  },
  {
    provide: ControlServer,
    useFactory: (config: CeleryConfig, broker: Broker, worker: CeleryWorker, queues: QueueCatalog, clock: LamportClock, taskEvents: WorkerEventsMonitor) =>
      createControlServer(config, { broker, worker, queues, clock, logger, taskEvents }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CeleryWorker, QueueCatalog, LamportClock, WorkerEventsMonitor],
  },
  /** null unless the `metrics` option is on; attached to the worker and the broker connection when built. */
  {
    provide: CeleryMetrics,
    useFactory: (config: CeleryConfig, broker: Broker, worker: CeleryWorker, connectionEvents: BrokerConnectionEvents) =>
      attachCeleryMetrics(config, { broker, worker, connectionEvents, logger }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CeleryWorker, BrokerConnectionEvents],
  },
  /**
   * The deployment as its Celery events tell it (what Flower watches): one per app, shared by the
   * alerts and the dashboard. Idle (no queue, no I/O) until one of them starts it.
   */
  {
    provide: ClusterMonitor,
    useFactory: (broker: Broker, clock: LamportClock, client: CeleryClient) => new ClusterMonitor({ broker, clock, control: client.control, logger }),
    inject: [CELERY_BROKER, LamportClock, CeleryClient],
  },
  /** null unless the `alerts` option is set. */
  {
    provide: CeleryAlerts,
    useFactory: (config: CeleryConfig, broker: Broker, monitor: ClusterMonitor, listeners: AlertListeners) =>
      config.alerts ? createCeleryAlerts(config.alerts, { broker, monitor, listeners, logger }) : null,
    inject: [CELERY_CONFIG, CELERY_BROKER, ClusterMonitor, AlertListeners],
  },
];

import { AlertListeners } from '../alerts/alert-listeners';
import { createCeleryAlerts } from '../alerts/create-celery-alerts';
import type { ResultBackend } from '../backend/result-backend.interface';
import { BrokerConnectionEvents } from '../broker/broker-connection-events';
import type { Broker } from '../broker/broker.interface';
import { QueueCatalog } from '../broker/queue-catalog';
import { CanvasWorkflowSteps } from '../workflow/canvas-workflow-steps';
import { chordUnlockTask } from '../workflow/chord-unlock.task';
import { accumulateTask, chunksTask, mapTask, starmapTask } from '../workflow/map-tasks';
import { backendCleanupTask } from '../worker/backend-cleanup.task';
import { CeleryClient, CeleryClientDependencies } from '../client/celery-client';
import { TaskRouter } from '../client/task-router';
import { TaskSentEvents } from '../events/task-sent-events';
import { WorkerEventsMonitor } from '../worker/worker-events-monitor';
import type { CeleryModuleOptions } from './celery-module-options';
import { CeleryMetrics } from '../metrics/celery-metrics';
import { ClusterMonitor } from '../monitoring/cluster-monitor';
import { CeleryOutbox } from '../outbox/celery-outbox';
import { BeatRunner } from '../beat/beat-runner';
import { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import { CeleryWorker } from '../worker/celery-worker';
import type { TaskDefinition } from '../task/task-definition';
import { TaskSignals } from '../worker/task-signals';
import { TaskProgressLog } from '../worker/task-progress-log';
import { TaskRegistry } from '../task/task-registry';
import { CeleryConfig, resolveCeleryConfig } from './celery-config';
import { CeleryRuntime, CeleryRuntimeParts } from './celery-runtime';
import { connectBroker, connectResultBackend } from './connect';
import { createControlServer, describeBackend } from './create-control-server';
import { UnsupportedOnSqsError } from '../errors/unsupported-on-sqs.error';
import { Mingle } from '../remote-control/mingle';
import { renderWorkerBanner } from './worker-banner';
import { maskUrl } from '../utils/mask-secrets';
import { endProcessOnRemoteShutdown } from './end-process-on-remote-shutdown';
import { validateCeleryOptions } from './validate-options';
import { createTaskPools } from './create-task-pools';

/** What the host of a runtime (CeleryModule, the microservice transport, a script) gives it. */
export interface RuntimeHost {
  logger: CeleryLogger;
  /** Tasks known before start (a microservice's message handlers); CeleryModule's explorer registers its own later. */
  tasks?: readonly TaskDefinition[];
  /**
   * A decorator put in front of the connected broker, which every part then uses: the testing
   * kit's eager delivery (lib/testing) runs tasks as they are published. Closing it closes the broker.
   */
  wrapBroker?(broker: Broker): Broker;
  /** Told of every task call the app's client prepares (CeleryClientDependencies.onTaskCall): the testing kit's record. */
  onTaskCall?: CeleryClientDependencies['onTaskCall'];
}

/**
 * The one composition root: validates the options, connects the broker and the result backend,
 * and builds every part of a Celery app from them, the same way whatever hosts it — CeleryModule,
 * the microservice transport (CeleryServer, CeleryClientProxy) and the worker CLI all come here.
 * No I/O beyond connecting happens until `start()`. Misconfiguration fails here, at start-up;
 * connections opened before a failure are closed again.
 */
export async function createCeleryRuntime(options: CeleryModuleOptions, host: RuntimeHost): Promise<CeleryRuntime> {
  const config = resolveCeleryConfig(validateCeleryOptions(options));
  const { logger } = host;
  const connectionEvents = new BrokerConnectionEvents();
  const connected = await connectBroker(config, logger, connectionEvents);
  const broker = host.wrapBroker?.(connected) ?? connected;
  let backend: ResultBackend | null = null;
  try {
    backend = await connectResultBackend(config, broker, logger);
    return buildRuntime(config, host, broker, connectionEvents, backend);
  } catch (error) {
    // Nobody else holds these connections: left open, they would retry for as long as the process lives.
    await backend?.close().catch(() => undefined);
    await broker.close().catch(() => undefined);
    throw error;
  }
}

function buildRuntime(config: CeleryConfig, host: RuntimeHost, broker: Broker, connectionEvents: BrokerConnectionEvents, backend: ResultBackend): CeleryRuntime {
  const { logger } = host;
  refuseEventsWithoutBroadcast(config, broker);
  const queues = new QueueCatalog(config.queues, config.defaultQueueType);
  const registry = new TaskRegistry();
  for (const task of host.tasks ?? []) registry.register(task);
  const signals = new TaskSignals(logger);
  const alertListeners = new AlertListeners();
  const clock = new LamportClock();
  const client = new CeleryClient({
    broker,
    backend,
    queues,
    defaultQueue: config.defaultQueue,
    router: new TaskRouter(config.taskRoutes),
    registry,
    clock,
    signer: config.security.signer,
    sentEvents: config.events.sendSentEvent ? new TaskSentEvents({ broker, clock, logger }) : undefined,
    onTaskCall: host.onTaskCall,
    tracer: config.tracer,
  });
  const outbox = new CeleryOutbox(client, config.outbox, logger);
  const worker = config.worker && buildWorker(config, { broker, backend, queues, registry, signals, client, logger });
  const broadcast = broker.supportsBroadcast !== false;
  if (worker && !broadcast) logger.warn(`Remote control, mingle and worker events are off: ${broker.description} cannot broadcast (no fanout), as in Celery on SQS`);
  const workerEvents = worker && broadcast ? attachWorkerEvents(config, worker, { broker, clock, logger }) : null;
  const control = worker && broadcast ? createControlServer(config, { broker, worker, clock, logger, taskEvents: workerEvents ?? undefined }) : null;
  // Celery's consumer steps, in its order, before the first task queue is consumed: Mingle (its
  // hello must not reach this worker's own mailbox), then the mailbox, so that once the worker logs
  // 'consuming' (our "ready": a task may run, even kill the process, right after) inspect answers.
  if (worker && broadcast && config.worker?.mingle) worker.addStartupStep(() => new Mingle({ control: client.control, worker, clock, logger }).sync());
  if (worker && control) worker.addStartupStep(() => control.start());
  if (worker && config.banner) printBannerOnStart(config, worker, registry, workerEvents);
  const metrics = config.metrics ? attachMetrics(config, { broker, worker, connectionEvents, logger }) : null;
  const monitor = new ClusterMonitor({ broker, clock, control: client.control, logger });
  const alerts = config.alerts ? createCeleryAlerts(config.alerts, { broker, monitor, listeners: alertListeners, logger }) : null;
  const beat = config.beat ? new BeatRunner({ options: config.beat, client, registry, logger, listeners: metrics ? [metrics] : [] }) : null;
  const parts: CeleryRuntimeParts = {
    config, logger, broker, connectionEvents, backend, queues, clock, registry, signals, alertListeners,
    client, outbox, worker, control, workerEvents, metrics, monitor, alerts, beat,
  };
  const runtime = new CeleryRuntime(parts);
  if (control && config.worker?.exitOnRemoteShutdown) control.onShutdown(endProcessOnRemoteShutdown(runtime, logger));
  return runtime;
}

/** The worker, with Celery's built-ins registered beside the app's tasks (they never make the app a worker: runtime-roles.ts). */
function buildWorker(
  config: CeleryConfig,
  parts: Pick<CeleryRuntimeParts, 'broker' | 'backend' | 'queues' | 'registry' | 'signals' | 'client' | 'logger'>,
): CeleryWorker {
  const { broker, backend, queues, registry, signals, client, logger } = parts;
  // Celery's join of chords on backends without a counter: a queue shared with Python may carry it.
  registry.registerBuiltin(chordUnlockTask(client));
  // What Python's add.map(), add.starmap() and add.chunks() send, and the body replace() gives a group.
  for (const builtin of [mapTask(registry), starmapTask(registry), chunksTask(client), accumulateTask()]) registry.registerBuiltin(builtin);
  // Celery's daily result cleanup, which Python's beat sends to the default queue.
  registry.registerBuiltin(backendCleanupTask(backend, config.backend?.resultExpiresSeconds, logger));
  return new CeleryWorker({
    broker,
    backend,
    registry,
    signals,
    logger,
    options: config.worker!,
    declareQueue: (name, requested) => queues.declaration(name, requested),
    // The database backend keeps revoked ids across restarts; with others they live in memory, as in Celery.
    revokedStore: backend.capabilities.revokedStore,
    monitors: config.logTasks ? [new TaskProgressLog(logger)] : undefined,
    workflow: new CanvasWorkflowSteps(client, logger, registry),
    security: config.security,
    tracer: config.tracer,
    pools: createTaskPools(config.worker!, logger),
  });
}

/**
 * Celery events travel on a broadcast exchange (`celeryev`); a broker without broadcast (SQS)
 * cannot carry them. Celery on SQS drops them without a word; asking for them here fails at start-up.
 */
function refuseEventsWithoutBroadcast(config: CeleryConfig, broker: Broker): void {
  if (broker.supportsBroadcast !== false) return;
  const asked = [config.events.sendTaskEvents && 'task events (worker.sendTaskEvents, -E)', config.events.sendSentEvent && 'task-sent events (sendSentEvent)'].filter(Boolean);
  if (asked.length === 0) return;
  throw new UnsupportedOnSqsError(`Celery events (${asked.join(', ')}) on ${broker.description}`, 'Events need a broadcast exchange: turn them off, or use RabbitMQ or Redis as the broker.');
}

/** The worker's Celery events, following it (started and stopped with it); also the switch of `enable_events`. */
function attachWorkerEvents(config: CeleryConfig, worker: CeleryWorker, parts: Pick<CeleryRuntimeParts, 'broker' | 'clock' | 'logger'>): WorkerEventsMonitor {
  const { sendTaskEvents, heartbeatIntervalSeconds } = config.events;
  const events = new WorkerEventsMonitor(worker, { ...parts, sendTaskEvents, heartbeatIntervalSeconds });
  worker.addMonitor(events);
  return events;
}

/**
 * The worker CLI's start-up banner, printed once, when the worker first starts consuming. On
 * stdout and whatever the log level, as `celery worker` prints its own: it is no log line.
 */
function printBannerOnStart(config: CeleryConfig, worker: CeleryWorker, registry: TaskRegistry, events: WorkerEventsMonitor | null): void {
  const banner = config.banner!;
  let printed = false;
  worker.addMonitor({
    workerStarted: () => {
      if (printed) return;
      printed = true;
      const { options } = worker;
      const tasks = registry.appTaskNames();
      const text = renderWorkerBanner({
        nodename: worker.hostname,
        app: banner.app,
        transport: maskUrl(config.broker.url),
        results: describeBackend(config.backend) ?? 'disabled://',
        concurrency: worker.taskPools.process?.processes ?? options.concurrency,
        pool: worker.taskPools.process ? 'process' : 'inline',
        prefetchMultiplier: options.prefetchMultiplier,
        acksLate: options.acksLate,
        taskEvents: events?.taskEventsEnabled ?? config.events.sendTaskEvents,
        queues: worker.consumedQueues(),
        tasks,
        builtinTasks: registry.names().filter((name) => !tasks.includes(name)),
        logLevel: banner.logLevel,
      });
      process.stdout.write(`${text}\n`);
    },
  });
}

/** Metrics follow the worker (when there is one) and the broker connection from the start. */
function attachMetrics(
  config: CeleryConfig,
  parts: { broker: Broker; worker: CeleryWorker | null; connectionEvents: BrokerConnectionEvents; logger: CeleryLogger },
): CeleryMetrics {
  const { broker, worker, connectionEvents, logger } = parts;
  const queues = new Set([config.defaultQueue, ...Object.keys(config.queues), ...(config.worker?.queues ?? [])]);
  const metrics = new CeleryMetrics({ broker, worker, queues: [...queues], logger }, config.metrics!);
  worker?.addMonitor(metrics);
  connectionEvents.subscribe(metrics);
  return metrics;
}

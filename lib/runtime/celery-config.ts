import type { CeleryAlertsOptions } from '../alerts/alert-options';
import type { ResultBackendConfig } from '../backend/create-result-backend';
import type { CeleryQueueOptions } from '../broker/celery-queue';
import type { DefaultQueueType } from '../broker/queue-catalog';
import type { TaskRoutes } from '../client/task-router';
import { DEFAULT_EVENT_OPTIONS, EventOptions } from '../events/event-options';
import { BrokerOptions, joinBrokerUrls } from '../broker/broker-options';
import { CeleryModuleOptions } from './celery-module-options';
import { ResolvedMetricsOptions, resolveMetricsOptions } from '../metrics/celery-metrics-options';
import { loadMessageSecurity, MessageSecurity } from '../security/load-message-security';
import { DEFAULT_WORKER_OPTIONS, WorkerOptions } from '../worker/worker-options';
import { ResolvedOutboxOptions, resolveOutboxOptions } from '../outbox/outbox-options';
import { ResolvedBeatOptions, resolveBeatOptions, resolveScheduleClock, ScheduleClock } from '../beat/beat-options';
import { isPostgresUrl } from '../backend/database/postgres-url';
import { createTaskTracer } from '../tracing/create-task-tracer';
import type { TaskTracer } from '../tracing/task-tracer';
import { resolveTracingOptions } from '../tracing/tracing-options';
import { urlScheme } from '../broker/amqp/amqp-url';
import { isPoolChild } from '../worker/pool/pool-child-channel';
import { CeleryLogLevel, commandLineHostname, WorkerCommandLine, workerCommandLine } from './worker-command-line';

/** The module's options with every default applied: what the providers are built from. */
export interface CeleryConfig {
  /** Celery's `broker_url` (a failover list joined by `;`, as Celery writes it) and settings; `memory://` is the in-process broker. */
  broker: BrokerOptions & { url: string };
  /** null: no result backend (Celery's DisabledBackend). */
  backend: ResultBackendConfig | null;
  defaultQueue: string;
  /** How queues not configured in `queues` are declared; quorum by default on a failover list. */
  defaultQueueType: DefaultQueueType;
  queues: Record<string, CeleryQueueOptions>;
  taskRoutes: TaskRoutes | undefined;
  /** null: producer only (`worker: false`). */
  worker: (WorkerOptions & { autoStart: boolean; exitOnRemoteShutdown: boolean; mingle: boolean }) | null;
  /** Celery events: task events, heartbeat interval, task-sent. */
  events: EventOptions;
  /** null: no metrics. */
  metrics: ResolvedMetricsOptions | null;
  /** Celery's INFO lines per task, received and succeeded (the worker CLI's `-l info`). */
  logTasks: boolean;
  /** Started by the worker CLI: the banner it prints when the worker starts consuming; null otherwise. */
  banner: { app: string; logLevel: CeleryLogLevel } | null;
  /** null: no alerts. */
  alerts: CeleryAlertsOptions | null;
  /** Who signs the tasks sent, which signed tasks the worker accepts (Celery's `auth` serializer). */
  security: MessageSecurity;
  /** null: no transactional outbox. */
  outbox: ResolvedOutboxOptions | null;
  /** null: this process fires no periodic tasks. */
  beat: ResolvedBeatOptions | null;
  /** The `beat` options' time zone and rules, also where this process fires nothing (the dashboard's next runs). */
  scheduleClock: ScheduleClock;
  /** Spans for sends and runs (OpenTelemetry), or NO_TRACING. */
  tracer: TaskTracer;
  /** This process is a process-pool child (lib/pool-child.main.ts): it runs its parent's jobs and consumes nothing. */
  poolChild: boolean;
}

/**
 * The one place where module options (validated: validate-options.ts) become settings, with every
 * default applied. A process started by the worker CLI also gets its command line
 * (worker-command-line.ts), applied over the module's worker options as Celery's `celery worker`
 * flags win over its settings: `-Q`, `-c`, `-n`, `-E`, `-l`, and `-B` (the module's `beat` runs in
 * the CLI's worker only with it). A module with `worker: false` takes
 * none of them; the CLI then refuses to run it (it checks what the runtimes reported at start-up).
 */
export function resolveCeleryConfig(options: CeleryModuleOptions, commandLine: WorkerCommandLine | null = workerCommandLine()): CeleryConfig {
  const given = typeof options.broker === 'string' || Array.isArray(options.broker) ? { url: options.broker as string | string[] } : (options.broker as BrokerOptions);
  const broker = { ...given, url: joinBrokerUrls(given.url) };
  const defaultQueue = options.defaultQueue ?? 'celery';
  const { sendTaskEvents, heartbeatIntervalSeconds, logTasks, autoStart, exitOnRemoteShutdown, mingle, ...worker } = options.worker || {};
  const flags = options.worker === false ? null : commandLine;
  const backend = resolveBackend(options);
  return {
    broker,
    backend,
    defaultQueue,
    // Several brokers mean a cluster: a classic queue lives on one node and is gone with it.
    defaultQueueType: options.taskDefaultQueueType ?? (broker.url.includes(';') ? 'quorum' : 'classic'),
    queues: options.queues ?? {},
    taskRoutes: options.taskRoutes,
    worker:
      options.worker === false
        ? null
        : {
            ...DEFAULT_WORKER_OPTIONS,
            queues: [defaultQueue],
            ...withoutUndefined(worker),
            ...withoutUndefined({
              queues: flags?.queues && [...flags.queues],
              concurrency: flags?.concurrency,
              hostname: flags ? commandLineHostname(flags, worker.hostname ?? DEFAULT_WORKER_OPTIONS.hostname) : undefined,
              // A process-pool child creates the module the CLI booted, unless the options name one.
              poolModule: worker.poolModule ?? flags?.module,
            }),
            autoStart: autoStart ?? true,
            exitOnRemoteShutdown: exitOnRemoteShutdown ?? true,
            // Celery's Mingle runs on amqp and redis only (its compatible_transports), never in memory.
            mingle: (mingle ?? true) && urlScheme(broker.url) !== 'memory',
          },
    events: {
      sendTaskEvents: flags?.sendTaskEvents || (sendTaskEvents ?? DEFAULT_EVENT_OPTIONS.sendTaskEvents),
      heartbeatIntervalSeconds: heartbeatIntervalSeconds ?? DEFAULT_EVENT_OPTIONS.heartbeatIntervalSeconds,
      sendSentEvent: options.sendSentEvent ?? DEFAULT_EVENT_OPTIONS.sendSentEvent,
    },
    metrics: resolveMetricsOptions(options.metrics),
    logTasks: flags ? flags.logLevel === 'info' || flags.logLevel === 'debug' : (logTasks ?? false),
    banner: flags ? { app: flags.app, logLevel: flags.logLevel } : null,
    alerts: options.alerts || null,
    security: loadMessageSecurity(options.security),
    outbox: resolveOutboxOptions(options.outbox),
    // The beat's tables live in the result backend's PostgreSQL unless it names a database of its own.
    // Under the worker CLI a worker runs it only with -B, as `celery worker` does.
    beat: resolveBeatOptions(flags && !flags.beat ? undefined : options.beat, {
      url: backend?.url !== undefined && isPostgresUrl(backend.url) ? backend.url : undefined,
      dataSource: backend?.url === undefined ? backend?.dataSource : undefined,
    }),
    scheduleClock: resolveScheduleClock(options.beat),
    tracer: createTaskTracer(resolveTracingOptions(options.tracing)),
    poolChild: isPoolChild(),
  };
}

function resolveBackend(options: CeleryModuleOptions): ResultBackendConfig | null {
  const backend = options.backend;
  // None given: Celery's DisabledBackend (tasks are fire-and-forget), as Celery's own default.
  if (backend === false || backend === undefined) return null;
  if (typeof backend === 'string') return { url: backend };
  if (backend.type === 'embedded') {
    return { embedded: { dataDir: backend.dataDir }, resultExpiresSeconds: backend.resultExpiresSeconds };
  }
  const { type: _type, ...database } = backend;
  return database;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

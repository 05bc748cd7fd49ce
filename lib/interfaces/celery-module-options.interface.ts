import { ModuleMetadata, Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { CeleryQueueOptions } from '../broker/celery-queue';
import type { DelayedDeliveryQueueType } from '../broker/delayed-delivery/delayed-delivery-topology';
import type { TaskRoutes } from '../client/task-router';
import type { CeleryAlertsOptions } from '../alerts/alert-options';
import type { CeleryMetricsOptions } from '../metrics/celery-metrics-options';
import type { SecurityDigest } from '../protocol/auth-serializer';
import type { OutboxModuleOptions } from '../outbox/outbox-options';
import { optionKeys } from '../utils/option-keys';

/** Broker connection settings (Celery's `broker_url` and `broker_*` settings). */
export interface BrokerOptions {
  /** `amqp://user:password@host:5672/vhost`, `amqps://…`, `redis://:password@host:6379/0`, `rediss://…`, or `memory://` for the in-process broker. */
  url: string;
  /** AMQP heartbeat in seconds (Celery: `broker_heartbeat`). Default 60. */
  heartbeatSeconds?: number;
  /** First reconnect delay in ms; it grows up to 30 s. Default 1000. */
  reconnectDelayMs?: number;
  /** How long a send waits for the broker's confirm, including while reconnecting. Default 30000. */
  publishTimeoutMs?: number;
  /** How long start-up waits for the first connection. Default 30000. */
  connectTimeoutMs?: number;
  /** Longest delay between reconnect attempts, ms. Default 30000. */
  maxReconnectDelayMs?: number;
  /** How long close() waits for unconfirmed sends, ms. Default 10000. */
  closeTimeoutMs?: number;
  /** Name shown in RabbitMQ's management UI and `rabbitmqctl list_connections`. Default `nestjs-celery <host>:<pid>`. */
  connectionName?: string;
  /** TLS material for amqps:// (ca, cert, key, passphrase, servername), passed to amqplib. */
  socketOptions?: Record<string, unknown>;
  /**
   * Redis only: seconds a delivered message may stay unacked before it is given back to its queue
   * (Celery: `broker_transport_options = {'visibility_timeout': …}`). Default 3600, or the URL's
   * `?visibility_timeout=`. Must exceed your longest task and farthest ETA/countdown.
   */
  visibilityTimeoutSeconds?: number;
}

/** PostgreSQL result backend in Celery's own tables (Celery: `db+postgresql://…`). */
export interface PostgresBackendOptions {
  type: 'postgres';
  /** `postgresql://user:password@host/db` (also Celery's `db+postgresql://` form). */
  url?: string;
  /** Use the app's own TypeORM DataSource instead of a URL (add celeryResultEntities to it). */
  dataSource?: DataSource;
  /** Seconds results are kept (Celery: `result_expires`). Default 86400; 0 keeps them forever. */
  resultExpiresSeconds?: number;
  /** Write name, args, kwargs, worker, retries, queue (Celery: `result_extended`). Default true. */
  extended?: boolean;
  /** Run the shipped migrations at start-up. Default true. */
  migrationsRun?: boolean;
  /** TypeORM synchronize, for development only. Default false. */
  synchronize?: boolean;
  /** How long a result write retries while PostgreSQL is unreachable, ms. Default 60000. */
  storeRetryTimeoutMs?: number;
}

/** Embedded PostgreSQL (PGlite) in this process: the default when nothing is configured. */
export interface EmbeddedBackendOptions {
  type: 'embedded';
  /** Directory to keep the data in; in memory when omitted. */
  dataDir?: string;
  resultExpiresSeconds?: number;
}

/** Redis result backend, Celery's keys (Celery: `redis://…`); a plain URL string works too. */
export interface RedisBackendOptions {
  type: 'redis';
  /** `redis://:password@host:6379/0` or `rediss://…?ssl_cert_reqs=required`. */
  url: string;
  /** Seconds each result key lives (Celery: `result_expires`). Default 86400; 0 keeps them forever. */
  resultExpiresSeconds?: number;
  /** Write name, args, kwargs, worker, retries, queue (Celery: `result_extended`). Default false, as Celery. */
  extended?: boolean;
}

export type ResultBackendOption = string | false | PostgresBackendOptions | EmbeddedBackendOptions | RedisBackendOptions;

/**
 * Message signing with Celery's `auth` serializer (Celery: the `security_*` settings and
 * `app.setup_security()`, what `celery[auth]` installs). Keys and certificates are PEM strings or
 * paths of PEM files. See SECURITY.md for what signing does and does not protect.
 */
export interface SecurityOptions {
  /** RSA private key that signs every task this app sends (Celery: `security_key`). Needs `certificate`. */
  key?: string;
  /** The certificate of that key (Celery: `security_certificate`); its issuer and serial name the signer. */
  certificate?: string;
  /**
   * Certificates trusted to sign the tasks this worker runs (Celery: `security_cert_store`): PEM
   * strings, files, a directory or a glob such as `certs/*.pem`, or a list of those.
   */
  certStore?: string | string[];
  /** Celery's `security_digest`: 'sha256' (default), 'sha384', 'sha512' or 'sha224'. Every party must use the same. */
  digest?: SecurityDigest;
  /**
   * Run signed messages only; unsigned ones are rejected (Celery: `accept_content = ['auth']`).
   * false also accepts plain JSON, for a rolling switch to signing. Default true when `certStore` is set.
   */
  required?: boolean;
}

/** The worker part of the module (`celery worker` options). */
export interface WorkerModuleOptions {
  /** Queues to consume (`-Q`). Default ['celery']. */
  queues?: string[];
  /** Tasks run at once (`-c`); also the prefetch. Default 10. */
  concurrency?: number;
  /** Celery's `worker_prefetch_multiplier`. Default 1. */
  prefetchMultiplier?: number;
  /** Node name (`-n`), `%h` = host name. Default 'celery@%h'. */
  hostname?: string;
  /** Ack after the result is stored, for every task that does not say otherwise (Celery: `task_acks_late`). Default false. */
  acksLate?: boolean;
  /**
   * What happens to an acksLate task whose worker was lost while running it (killed, crashed, out
   * of memory), once RabbitMQ hands its unacknowledged message to the next worker (Celery:
   * `task_reject_on_worker_lost`). true: it runs again. false: FAILURE with WorkerLostError is
   * stored and the message acked, so a task that crashes its worker cannot do so forever; the
   * worker then records STARTED for acksLate tasks (as with trackStarted), which is how the next
   * worker knows the run began. Default true (see the README's Reliability section for why).
   */
  rejectOnWorkerLost?: boolean;
  /** Store STARTED (Celery: `task_track_started`). Default false. */
  trackStarted?: boolean;
  /** Store no SUCCESS results (Celery: `task_ignore_result`). Default false. */
  ignoreResult?: boolean;
  /** Milliseconds shutdown waits for running tasks. Default 30000. */
  shutdownTimeoutMs?: number;
  /** Largest task message accepted, in bytes after decompression; larger ones are refused unparsed. Default 10 MiB. */
  maxMessageBytes?: number;
  /**
   * A task whose eta is more than this many seconds away is parked in RabbitMQ's delay queues
   * (`celery_delayed_0…27`, Celery 5.5's native delayed delivery) instead of held unacked in the
   * worker until then, so it takes no prefetch slot and never trips RabbitMQ's `consumer_timeout`.
   * 0: never park, hold every ETA task as Celery 5.2.6 does. Default 60.
   */
  etaParkThresholdSeconds?: number;
  /**
   * Type of the delay queues (Celery 5.5: `broker_native_delayed_delivery_queue_type`): 'quorum'
   * or 'classic'. Every worker sharing the broker, Python ones too, must use the same. Default 'classic'
   * (Celery 5.5's default is 'quorum': set it when Celery 5.5 workers with quorum queues share the broker).
   */
  delayedDeliveryQueueType?: DelayedDeliveryQueueType;
  /** Start consuming at application bootstrap. false: call `CeleryWorker.start()` yourself. Default true. */
  autoStart?: boolean;
  /**
   * A remote `shutdown` (Flower's button, `celery control shutdown`) ends the process with exit
   * code 0 after a warm shutdown, as a Python worker exits, so systemd or Kubernetes restart it.
   * false: only the worker stops; the process goes on. Default true.
   */
  exitOnRemoteShutdown?: boolean;
  /**
   * Send task events (task-received, -started, -succeeded…) for Flower and `celery events`
   * (Celery: `worker_send_task_events`, `-E`). Worker events (online, heartbeat, offline) are
   * sent either way, as in Celery. Default false.
   */
  sendTaskEvents?: boolean;
  /** Seconds between worker-heartbeat events (Celery: `--heartbeat-interval`). Default 2. */
  heartbeatIntervalSeconds?: number;
  /**
   * Log one line per finished task with its state and runtime (Celery's worker logs these at
   * INFO: `Task tasks.add[…] succeeded in 0.004s`). The worker CLI turns it on. Default false.
   */
  logTasks?: boolean;
}

/**
 * Options of `CeleryModule.forRoot()`. With neither broker nor backend, the module runs on an
 * in-process broker and an embedded PostgreSQL, so an app works before any server exists.
 */
export interface CeleryModuleOptions {
  /** Celery's `broker_url` (CELERY_BROKER_URL). Omitted: the in-process `memory://` broker. */
  broker?: string | BrokerOptions;
  /**
   * Celery's `result_backend` (CELERY_RESULT_BACKEND): a URL, options, or false for none.
   * Omitted: embedded PostgreSQL when the broker is omitted too, otherwise none.
   */
  backend?: ResultBackendOption;
  /** Queue for tasks sent without one (Celery: `task_default_queue`). Default 'celery'. */
  defaultQueue?: string;
  /** Per-queue declaration settings (Celery: `task_queues`), e.g. `{ urgent: { maxPriority: 10 } }`. */
  queues?: Record<string, CeleryQueueOptions>;
  /** Where tasks go by name or glob (Celery: `task_routes`), e.g. `{ 'images.*': { queue: 'media' }, 'tasks.add': 'math' }`. */
  taskRoutes?: TaskRoutes;
  /** Publish a task-sent event for every task this app sends (Celery: `task_send_sent_event`). Default false. */
  sendSentEvent?: boolean;
  /** Worker settings, or false for a producer-only app. A worker starts only when @CeleryTask methods exist. */
  worker?: false | WorkerModuleOptions;
  /**
   * Prometheus metrics through prom-client (`CeleryMetrics`): true for prom-client's global
   * registry with the `celery_` prefix, or `{ registry, prefix }`. Default false.
   */
  metrics?: boolean | CeleryMetricsOptions;
  /**
   * Alerts on the whole deployment, watched through Celery events (as Flower does): a task's
   * failure, a failure rate over a threshold, a worker gone silent, a queue backlog; delivered to
   * the app's `@OnCeleryAlert()` methods, `onAlert` and an optional webhook. Default off.
   */
  alerts?: false | CeleryAlertsOptions;
  /** Message signing (Celery's `auth` serializer); default: none, tasks are plain JSON. */
  security?: SecurityOptions;
  /**
   * The transactional outbox (`CeleryOutbox.enqueue(manager, …)`): `{ dataSource }` or `{ url }`
   * of the PostgreSQL database the app's transactions run on. Omitted: no outbox.
   */
  outbox?: OutboxModuleOptions;
  /** Register the module globally. Default true. */
  isGlobal?: boolean;
}

export interface CeleryOptionsFactory {
  createCeleryOptions(): Promise<CeleryModuleOptions> | CeleryModuleOptions;
}

/** `CeleryModule.forRootAsync()`: options from @nestjs/config or any provider. */
export interface CeleryModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => Promise<CeleryModuleOptions> | CeleryModuleOptions;
  inject?: any[];
  useClass?: Type<CeleryOptionsFactory>;
  useExisting?: Type<CeleryOptionsFactory>;
  isGlobal?: boolean;
}

/** The keys each options object may have (validate-options.ts refuses others, naming the nearest). */
export const CELERY_MODULE_OPTION_KEYS = optionKeys<CeleryModuleOptions>()(
  'broker', 'backend', 'defaultQueue', 'queues', 'taskRoutes', 'sendSentEvent', 'worker', 'metrics', 'alerts', 'security', 'outbox', 'isGlobal',
);
export const BROKER_OPTION_KEYS = optionKeys<BrokerOptions>()(
  'url', 'heartbeatSeconds', 'reconnectDelayMs', 'publishTimeoutMs', 'connectTimeoutMs', 'maxReconnectDelayMs', 'closeTimeoutMs', 'connectionName', 'socketOptions', 'visibilityTimeoutSeconds',
);
export const POSTGRES_BACKEND_OPTION_KEYS = optionKeys<PostgresBackendOptions>()(
  'type', 'url', 'dataSource', 'resultExpiresSeconds', 'extended', 'migrationsRun', 'synchronize', 'storeRetryTimeoutMs',
);
export const EMBEDDED_BACKEND_OPTION_KEYS = optionKeys<EmbeddedBackendOptions>()('type', 'dataDir', 'resultExpiresSeconds');
export const REDIS_BACKEND_OPTION_KEYS = optionKeys<RedisBackendOptions>()('type', 'url', 'resultExpiresSeconds', 'extended');
export const SECURITY_OPTION_KEYS = optionKeys<SecurityOptions>()('key', 'certificate', 'certStore', 'digest', 'required');
export const WORKER_OPTION_KEYS = optionKeys<WorkerModuleOptions>()(
  'queues', 'concurrency', 'prefetchMultiplier', 'hostname', 'acksLate', 'rejectOnWorkerLost', 'trackStarted', 'ignoreResult', 'shutdownTimeoutMs',
  'maxMessageBytes', 'etaParkThresholdSeconds', 'delayedDeliveryQueueType', 'autoStart', 'exitOnRemoteShutdown', 'sendTaskEvents', 'heartbeatIntervalSeconds', 'logTasks',
);

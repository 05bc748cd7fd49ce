import type { CeleryAlertsOptions } from '../alerts/alert-options';
import type { ResultBackendOption } from '../backend/backend-options';
import type { BrokerOptions } from '../broker/broker-options';
import type { CeleryQueueOptions } from '../broker/celery-queue';
import type { DefaultQueueType } from '../broker/queue-catalog';
import type { TaskRoutes } from '../client/task-router';
import type { CeleryMetricsOptions } from '../metrics/celery-metrics-options';
import type { OutboxModuleOptions } from '../outbox/outbox-options';
import type { SecurityOptions } from '../security/security-options';
import type { TracingOptions } from '../tracing/tracing-options';
import { optionKeys } from '../utils/option-keys';
import type { WorkerModuleOptions } from '../worker/worker-module-options';

/**
 * Options of `CeleryModule.forRoot()` (Celery's app configuration). `broker` is required;
 * `memory://` (broker and backend) runs everything in process, for tests and demos.
 */
export interface CeleryModuleOptions {
  /** Celery's `broker_url` (CELERY_BROKER_URL), required: `amqp://…`, `redis://…`, or `memory://` for the in-process broker. */
  broker?: string | readonly string[] | BrokerOptions;
  /**
   * Celery's `result_backend` (CELERY_RESULT_BACKEND): a URL, options, or false for none.
   * Omitted: none, as in Celery (`get()` then fails with ResultBackendDisabledError).
   */
  backend?: ResultBackendOption;
  /** Queue for tasks sent without one (Celery: `task_default_queue`). Default 'celery'. */
  defaultQueue?: string;
  /**
   * How the default queue and every queue not in `queues` are declared (Celery 5.5's
   * `task_default_queue_type`; 5.6 splits it with `task_create_missing_queue_type`): 'quorum'
   * queues are replicated across a RabbitMQ cluster and survive a node's loss. Default: 'quorum'
   * when `broker` lists several nodes, else 'classic' (what Celery declares by default).
   */
  taskDefaultQueueType?: DefaultQueueType;
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
  /**
   * OpenTelemetry tracing as Python's opentelemetry-instrumentation-celery does it: an
   * `apply_async/<task>` span per send and a `run/<task>` span per run, W3C trace context in the
   * message headers both ways. `true` uses the global TracerProvider and propagator (set up by
   * `NodeSDK.start()` or `provider.register()`), or give `{ tracerProvider }`. Needs the optional
   * peer `@opentelemetry/api`. Default off.
   */
  tracing?: boolean | TracingOptions;
  /** Register the module globally. Default true. */
  isGlobal?: boolean;
}

export const CELERY_MODULE_OPTION_KEYS = optionKeys<CeleryModuleOptions>()(
  'broker', 'backend', 'defaultQueue', 'taskDefaultQueueType', 'queues', 'taskRoutes', 'sendSentEvent', 'worker', 'metrics', 'alerts', 'security', 'outbox', 'tracing', 'isGlobal',
);

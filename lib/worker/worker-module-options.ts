import type { DelayedDeliveryQueueType } from '../broker/delayed-delivery/delayed-delivery-topology';
import type { TaskPoolName } from '../task/task-definition';
import { optionKeys } from '../utils/option-keys';
import type { AutoscaleLimits } from './pool/autoscaler';
import type { PoolModule } from './worker-options';

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
   * worker knows the run began. Default true (docs/RELIABILITY.md says why).
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
  /**
   * Where tasks run (Celery's `worker_pool`, CELERY_WORKER_POOL): 'inline' on the worker's event
   * loop, best for I/O-bound tasks; 'process' in child processes, each creating the application
   * with its providers (Celery's prefork): the hard time limit then kills a task that never yields,
   * and a leak or crash stays in its child. A task's own `pool` option wins. Default 'inline'.
   * See docs/PROCESS-POOL.md.
   */
  pool?: TaskPoolName;
  /** Process pool: replace a child after this many tasks (Celery's `worker_max_tasks_per_child`). Default: never. */
  maxTasksPerChild?: number;
  /**
   * Process pool: replace a child whose resident memory passed this many KiB, after the task that
   * crossed it (Celery's `worker_max_memory_per_child`, KiB too). Default: never.
   */
  maxMemoryPerChild?: number;
  /**
   * Process pool: between `min` and `max` children, grown when tasks wait and shrunk after 30 s
   * without growth (Celery's `--autoscale=max,min`; AUTOSCALE_KEEPALIVE changes the 30 s). The
   * worker's slots follow the number of children. Default: `concurrency` children.
   */
  autoscale?: AutoscaleLimits;
  /**
   * Process pool: the compiled module file each child creates, `{ path, export }` (as the worker
   * CLI's --module and --export). Under the worker CLI its --module is used when this is omitted.
   */
  poolModule?: PoolModule;
  /**
   * Process pool: honour `pool_restart` (Flower's Restart pool button, `celery control
   * pool_restart`), which replaces every child so code changed on disk is loaded (Celery's
   * `worker_pool_restarts`, CELERY_WORKER_POOL_RESTARTS). Default false, as Celery.
   */
  poolRestarts?: boolean;
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
  /**
   * At start, before consuming, ask the other workers for their revoked task ids and clock
   * (Celery's Mingle: a `hello` broadcast, answers collected for 1 s) and warn when one of them
   * answers under this worker's own node name. false: start without (Celery:
   * `--without-mingle`), a second sooner. Never on the in-process broker. Default true.
   */
  mingle?: boolean;
  /** Seconds between worker-heartbeat events (Celery: `--heartbeat-interval`). Default 2. */
  heartbeatIntervalSeconds?: number;
  /**
   * Log Celery's INFO lines per task: `Task tasks.add[…] received`, `Task tasks.add[…] succeeded
   * in 0.004s: 5`, retries and discarded revoked tasks (a failure is logged at ERROR either way).
   * The worker CLI decides it from `-l` (info and debug). Default false.
   */
  logTasks?: boolean;
}

export const WORKER_OPTION_KEYS = optionKeys<WorkerModuleOptions>()(
  'queues', 'concurrency', 'prefetchMultiplier', 'hostname', 'acksLate', 'rejectOnWorkerLost', 'trackStarted', 'ignoreResult', 'shutdownTimeoutMs',
  'maxMessageBytes', 'etaParkThresholdSeconds', 'delayedDeliveryQueueType', 'autoStart', 'exitOnRemoteShutdown', 'mingle', 'sendTaskEvents', 'heartbeatIntervalSeconds', 'logTasks',
  'pool', 'maxTasksPerChild', 'maxMemoryPerChild', 'autoscale', 'poolModule', 'poolRestarts',
);

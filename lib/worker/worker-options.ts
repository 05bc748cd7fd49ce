import { hostname as osHostname } from 'node:os';
import type { DelayedDeliveryQueueType } from '../broker/delayed-delivery/delayed-delivery-topology';
import type { TaskPoolName } from '../task/task-definition';
import type { AutoscaleLimits } from './pool/autoscaler';

/** How a worker consumes and runs tasks (`celery worker` options), all resolved. */
export interface WorkerOptions {
  /** Queues to consume (`-Q`). */
  queues: string[];
  /** Tasks run at once (`-c`); the prefetch is concurrency × prefetchMultiplier. */
  concurrency: number;
  /**
   * Celery's `worker_prefetch_multiplier`, 4 as in Celery: the broker delivers the next tasks
   * while these run and their results are written, instead of a round trip per batch (measured:
   * −30% CPU per task, Redis drain with results 0.9× → 1.3× BullMQ's). 1 for long tasks that
   * should go to whichever worker is free (Celery's advice too).
   */
  prefetchMultiplier: number;
  /** Node name (`-n`), `%h` expands to the host name: `celery@%h`. */
  hostname: string;
  /** Worker-wide defaults of the task options (Celery's `task_acks_late`, `task_track_started`, `task_ignore_result`). */
  acksLate: boolean;
  /** What an acksLate task whose worker was lost does when its message comes back (Celery's `task_reject_on_worker_lost`); see execution-settings.ts. */
  rejectOnWorkerLost: boolean;
  trackStarted: boolean;
  ignoreResult: boolean;
  /** How long shutdown waits for running tasks before aborting them (ms). */
  shutdownTimeoutMs: number;
  /** Largest task message accepted (bytes, after decompression); larger ones are refused before parsing. */
  maxMessageBytes: number;
  /**
   * A task whose eta is more than this many seconds away is parked in the broker's delay queues
   * (Celery 5.5's native delayed delivery) instead of held unacked in the worker; 0 never parks.
   */
  etaParkThresholdSeconds: number;
  /** Type of the delay queues `celery_delayed_0…27` (Celery 5.5: `broker_native_delayed_delivery_queue_type`). */
  delayedDeliveryQueueType: DelayedDeliveryQueueType;
  /** Where tasks run unless a task says otherwise (Celery's `worker_pool`, `-P`): 'inline' or 'process'. */
  pool: TaskPoolName;
  /** Process pool: a child is replaced after this many tasks (Celery's `worker_max_tasks_per_child`); null: never. */
  maxTasksPerChild: number | null;
  /** Process pool: a child whose resident memory passed this many KiB is replaced after its task (Celery's `worker_max_memory_per_child`); null: never. */
  maxMemoryPerChild: number | null;
  /** Process pool: children between min and max, following the load (Celery's `--autoscale=max,min`); null: `concurrency` children. */
  autoscale: AutoscaleLimits | null;
  /** Process pool: the module each child creates; null: the worker CLI's --module. */
  poolModule: PoolModule | null;
  /** Process pool: the `pool_restart` remote-control command is honoured (Celery's `worker_pool_restarts`). */
  poolRestarts: boolean;
}

/** The compiled module file a process-pool child loads, and its export (a module class or a DynamicModule). */
export interface PoolModule {
  readonly path: string;
  /** Default 'AppModule', as the worker CLI's --export. */
  readonly export?: string;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  queues: ['celery'],
  concurrency: 10,
  prefetchMultiplier: 4,
  hostname: 'celery@%h',
  acksLate: false,
  // Celery's default is false, but there it concerns a pool process dying under a living worker.
  // A Node.js worker is one process: when it dies RabbitMQ requeues its unacked messages and the
  // next worker runs them, which is also what Celery does when a whole worker is killed.
  rejectOnWorkerLost: true,
  trackStarted: false,
  ignoreResult: false,
  shutdownTimeoutMs: 30_000,
  maxMessageBytes: 10 * 1024 * 1024,
  etaParkThresholdSeconds: 60,
  // Classic: a parked task whose queue was deleted is dropped when it comes back. Quorum queues
  // dead-letter at least once and keep retrying it forever, blocking every task parked after it.
  delayedDeliveryQueueType: 'classic',
  pool: 'inline',
  maxTasksPerChild: null,
  maxMemoryPerChild: null,
  autoscale: null,
  poolModule: null,
  poolRestarts: false,
};

/** Expands Celery's node-name placeholders: `%h` host name, `%n` short host, `%d` domain. */
export function expandHostname(template: string): string {
  const host = osHostname();
  const [short, ...domain] = host.split('.');
  const name = template.replace(/%h/g, host).replace(/%n/g, short).replace(/%d/g, domain.join('.'));
  return name.includes('@') ? name : `celery@${name}`;
}

import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Broker, BrokerEvents } from '../broker/broker.interface';
import type { RevokeReason } from '../errors/task-revoked.error';
import type { TaskMessage } from '../protocol/task-message';
import { TaskState } from '../protocol/task-states';
import type { CeleryLogger } from '../utils/logger';
import { loadOptionalPackage } from '../utils/optional-package';
import type { ActiveTask } from '../worker/celery-worker';
import type { PartialTaskMessage, WorkerMonitor } from '../worker/worker-monitor';
import type { ResolvedMetricsOptions } from './celery-metrics-options';

/** Task runtimes span milliseconds (an add) to minutes (a report): buckets in seconds. */
const RUNTIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** What the gauges read from the worker when scraped. */
export interface WorkerLoad {
  readonly isRunning: boolean;
  readonly prefetchCount: number;
  activeTasks(): ActiveTask[];
  reservedTasks(): unknown[];
  scheduledTasks(): unknown[];
}

export interface CeleryMetricsSources {
  broker: Broker;
  /** Queues whose depth is reported (the worker's, the default queue, `task_queues`). */
  queues: readonly string[];
  /** null in an app that runs no worker: the worker gauges read 0. */
  worker: WorkerLoad | null;
  logger: CeleryLogger;
}

/**
 * Prometheus metrics of a Celery app, on a prom-client Registry (celery-exporter and Flower's
 * /metrics are the Celery counterparts):
 *
 * - `<prefix>tasks_total{name,state}`: tasks seen by this worker, by Celery state (RECEIVED,
 *   STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REJECTED).
 * - `<prefix>task_runtime_seconds{name}`: how long tasks ran (succeeded or failed).
 * - `<prefix>queue_depth{queue}`: messages ready in each queue (a passive declare per scrape).
 * - `<prefix>worker_prefetch_in_use` / `<prefix>worker_prefetch_limit`: unacknowledged
 *   messages this worker holds (running, waiting for a slot or an ETA) and the basic.qos window.
 * - `<prefix>broker_reconnects_total`: connections re-established after a loss.
 * - `<prefix>broker_connected{node}`: 1 for the broker node connected to (password masked; a
 *   failover list names the node in use), nothing while disconnected.
 *
 * Counting happens on the worker's path (a WorkerMonitor); the gauges are read only when scraped.
 */
export class CeleryMetrics implements WorkerMonitor, BrokerEvents {
  readonly registry: Registry;
  private readonly tasks: Counter<'name' | 'state'>;
  private readonly runtime: Histogram<'name'>;
  private readonly reconnects: Counter;
  private readonly metricNames: string[];
  private connectionLost = false;

  constructor(
    private readonly sources: CeleryMetricsSources,
    options: ResolvedMetricsOptions,
  ) {
    // prom-client is an optional peer dependency: loaded only when metrics are configured.
    const prom = loadOptionalPackage<typeof import('prom-client')>('prom-client', 'Metrics (metrics: true)');
    const { Counter, Gauge, Histogram } = prom;
    const registry = options.registry ?? prom.register;
    const registers = [registry];
    const prefix = options.prefix;
    this.registry = registry;
    this.tasks = new Counter({
      name: `${prefix}tasks_total`,
      help: 'Tasks seen by this worker, by task name and Celery state.',
      labelNames: ['name', 'state'],
      registers,
    });
    this.runtime = new Histogram({
      name: `${prefix}task_runtime_seconds`,
      help: 'Task runtime in seconds, by task name (succeeded and failed runs).',
      labelNames: ['name'],
      buckets: RUNTIME_BUCKETS,
      registers,
    });
    this.reconnects = new Counter({
      name: `${prefix}broker_reconnects_total`,
      help: 'Broker connections re-established after a loss.',
      registers,
    });
    const queueDepth = this.queueDepthGauge(Gauge, `${prefix}queue_depth`, registers);
    const { worker } = sources;
    const inUse = new Gauge({
      name: `${prefix}worker_prefetch_in_use`,
      help: 'Unacknowledged task messages this worker holds: running, waiting for a slot, or for their ETA.',
      registers,
      collect() {
        this.set(worker?.isRunning ? unacknowledgedHeld(worker) : 0);
      },
    });
    const limit = new Gauge({
      name: `${prefix}worker_prefetch_limit`,
      help: 'The prefetch window (basic.qos) of this worker; it grows by one per ETA task held.',
      registers,
      collect() {
        this.set(worker?.isRunning ? worker.prefetchCount : 0);
      },
    });
    const broker = sources.broker;
    const connected = new Gauge({
      name: `${prefix}broker_connected`,
      help: 'The broker node connected to now (1), by its URL with the password masked.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        if (broker.isConnected) this.set({ node: broker.description }, 1);
      },
    });
    this.metricNames = [this.tasks, this.runtime, this.reconnects, queueDepth, inUse, limit, connected].map(metricName);
  }

  taskReceived(message: TaskMessage): void {
    this.tasks.inc({ name: message.task, state: TaskState.RECEIVED });
  }

  taskStarted(message: TaskMessage): void {
    this.tasks.inc({ name: message.task, state: TaskState.STARTED });
  }

  taskSucceeded(message: TaskMessage, _result: unknown, runtimeSeconds: number): void {
    this.tasks.inc({ name: message.task, state: TaskState.SUCCESS });
    this.runtime.observe({ name: message.task }, runtimeSeconds);
  }

  taskFailed(message: PartialTaskMessage, _error: unknown, runtimeSeconds: number | null): void {
    const name = message.task ?? 'unknown';
    this.tasks.inc({ name, state: TaskState.FAILURE });
    if (runtimeSeconds !== null) this.runtime.observe({ name }, runtimeSeconds);
  }

  taskRetried(message: TaskMessage): void {
    this.tasks.inc({ name: message.task, state: TaskState.RETRY });
  }

  taskRevoked(message: TaskMessage, _reason: RevokeReason): void {
    this.tasks.inc({ name: message.task, state: TaskState.REVOKED });
  }

  taskRejected(message: PartialTaskMessage | null): void {
    this.tasks.inc({ name: message?.task ?? 'unknown', state: TaskState.REJECTED });
  }

  disconnected(): void {
    this.connectionLost = true;
  }

  connected(): void {
    if (!this.connectionLost) return;
    this.connectionLost = false;
    this.reconnects.inc();
  }

  /** At shutdown the metrics leave the registry, so another app in this process can register them again. */
  unregister(): void {
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }

  private queueDepthGauge(GaugeClass: typeof import('prom-client').Gauge, name: string, registers: Registry[]): Gauge<'queue'> {
    const { broker, queues, logger } = this.sources;
    return new GaugeClass({
      name,
      help: 'Messages ready in the queue (not counting those delivered and unacknowledged).',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        // While disconnected a passive declare would wait for the connection and hold the scrape up.
        if (!broker.isConnected) return;
        await Promise.all(
          queues.map(async (queue) => {
            try {
              const depth = await broker.queueDepth(queue);
              if (depth !== null) this.set({ queue }, depth);
            } catch (error) {
              logger.warn(`Could not read the depth of queue ${queue}: ${(error as Error).message}`);
            }
          }),
        );
      },
    });
  }
}

function unacknowledgedHeld(worker: WorkerLoad): number {
  let running = 0;
  for (const task of worker.activeTasks()) if (!task.acknowledged) running += 1;
  return running + worker.reservedTasks().length + worker.scheduledTasks().length;
}

/** prom-client keeps the name on the metric but leaves it out of its typings. */
function metricName(metric: object): string {
  return (metric as { name: string }).name;
}

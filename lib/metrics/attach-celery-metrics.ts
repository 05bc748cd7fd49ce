import type { Broker } from '../broker/broker.interface';
import type { BrokerConnectionEvents } from '../broker/broker-connection-events';
import type { CeleryConfig } from '../celery-config';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryWorker } from '../worker/celery-worker';
import { CeleryMetrics } from './celery-metrics';

/**
 * The app's CeleryMetrics when the `metrics` option is on (null otherwise), following the worker
 * (as a monitor) and the broker connection from the start, before the worker consumes anything.
 */
export function attachCeleryMetrics(
  config: CeleryConfig,
  parts: { broker: Broker; worker: CeleryWorker; connectionEvents: BrokerConnectionEvents; logger: CeleryLogger },
): CeleryMetrics | null {
  if (!config.metrics) return null;
  const { broker, worker, connectionEvents, logger } = parts;
  const queues = new Set([config.defaultQueue, ...Object.keys(config.queues), ...(config.worker?.queues ?? [])]);
  const metrics = new CeleryMetrics({ broker, worker, queues: [...queues], logger }, config.metrics);
  worker.addMonitor(metrics);
  connectionEvents.subscribe(metrics);
  return metrics;
}

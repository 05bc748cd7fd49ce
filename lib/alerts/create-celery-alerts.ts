import type { Broker } from '../broker/broker.interface';
import type { ClusterMonitor } from '../monitoring/cluster-monitor';
import type { CeleryLogger } from '../utils/logger';
import { AlertDelivery } from './alert-delivery';
import { AlertEngine } from './alert-engine';
import type { AlertListeners } from './alert-listeners';
import { CeleryAlertsOptions, resolveAlertRules } from './alert-options';
import { CeleryAlerts } from './celery-alerts';
import { monitorEvents } from './monitor-events';

/** Time-based rules (a silent worker, a sliding failure rate) are checked this often. */
const TICK_INTERVAL_MS = 1000;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/** Builds the alerts from the module's `alerts` option, watching the app's ClusterMonitor. */
export function createCeleryAlerts(
  options: CeleryAlertsOptions,
  deps: { broker: Broker; monitor: ClusterMonitor; listeners: AlertListeners; logger: CeleryLogger },
): CeleryAlerts {
  const rules = resolveAlertRules(options);
  const listeners = [deps.listeners.receive, ...(options.onAlert ? [options.onAlert] : [])];
  return new CeleryAlerts({
    engine: new AlertEngine(rules),
    delivery: new AlertDelivery({ listeners, webhookUrl: options.webhookUrl, webhookTimeoutMs: options.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS, logger: deps.logger }),
    events: monitorEvents(deps.monitor),
    queueDepth: (queue) => deps.broker.queueDepth(queue),
    tickIntervalMs: TICK_INTERVAL_MS,
    queueCheckIntervalMs: rules.queueBacklog?.checkIntervalMs ?? 10_000,
    logger: deps.logger,
  });
}

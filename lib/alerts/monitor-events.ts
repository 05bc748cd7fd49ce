import type { ClusterMonitor } from '../monitoring/cluster-monitor';
import type { ObservedEvents } from './celery-alerts';

/** The alerts' view of a ClusterMonitor: its receiver's events, and task names from its state. */
export function monitorEvents(monitor: ClusterMonitor): ObservedEvents {
  return {
    subscribe: (listener) => monitor.receiver.onEvent(listener),
    taskName: (uuid) => monitor.state.task(uuid)?.name ?? null,
  };
}

import type { WorkerMonitor } from '../worker/worker-monitor';
import { ObservedWorker, WorkerEventsMonitor, WorkerEventsMonitorDependencies } from './worker-events-monitor';

/**
 * Gives a worker its Celery events: creates the WorkerEventsMonitor and attaches it, so events
 * start and stop with the worker, whoever starts it (the lifecycle, CeleryServer, the app).
 */
export function attachWorkerEvents(worker: ObservedWorker & { addMonitor(monitor: WorkerMonitor): void }, deps: WorkerEventsMonitorDependencies): WorkerEventsMonitor {
  const events = new WorkerEventsMonitor(worker, deps);
  worker.addMonitor(events);
  return events;
}

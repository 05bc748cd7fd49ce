import { loadavg } from 'node:os';
import type { EventFields } from './celery-event';
import { SOFTWARE_INFO } from './software-info';

/** What a worker reports about itself in worker-online / worker-heartbeat / worker-offline. */
export interface WorkerStatus {
  /** Tasks executing now. */
  active: number;
  /** Tasks processed since start. */
  processed: number;
}

/**
 * The fields of worker-online, worker-heartbeat and worker-offline (celery-protocol.md §8.3,
 * Fx worker_event_worker_*), in Celery's order: `freq` (the heartbeat interval in seconds, which
 * monitors use to decide the worker is gone after 2 × freq without news), the counts, the load
 * average, and the software.
 */
export function workerStatusFields(freqSeconds: number, status: WorkerStatus): EventFields {
  return { freq: freqSeconds, active: status.active, processed: status.processed, loadavg: loadAverage(), ...SOFTWARE_INFO };
}

/** The extra worker-heartbeat the `heartbeat` control command asks for: Celery sends `freq: 5` and the software only. */
export function requestedHeartbeatFields(): EventFields {
  return { freq: 5, ...SOFTWARE_INFO };
}

/** Celery's `load_average()`: the 1, 5 and 15 minute load, rounded up to two decimals. */
export function loadAverage(): number[] {
  return loadavg().map((load) => Math.ceil(load * 1e2) / 1e2);
}

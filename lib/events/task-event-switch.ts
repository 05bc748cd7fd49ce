/**
 * Where `enable_events`, `disable_events` and `heartbeat` act. The worker's Celery events
 * (WorkerEventsMonitor) are it; without them remote control only remembers the switch (TaskEventFlag).
 */
export interface TaskEventSwitch {
  /** Turns task events on; false when they already were. */
  enableTaskEvents(): boolean;
  /** Turns task events off; false when they already were. */
  disableTaskEvents(): boolean;
  /** Sends a `worker-heartbeat` event now. */
  sendHeartbeat(): void;
}

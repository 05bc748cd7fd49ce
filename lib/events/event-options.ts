/** The Celery events settings, all resolved (see CeleryModuleOptions for each one's Celery name). */
export interface EventOptions {
  /** Celery's `worker_send_task_events` (`-E`). */
  sendTaskEvents: boolean;
  /** Celery's `--heartbeat-interval`: seconds between worker-heartbeat events. */
  heartbeatIntervalSeconds: number;
  /** Celery's `task_send_sent_event`. */
  sendSentEvent: boolean;
}

/** Celery's defaults: no task events, a heartbeat every 2 s, no task-sent. */
export const DEFAULT_EVENT_OPTIONS: Readonly<EventOptions> = Object.freeze({
  sendTaskEvents: false,
  heartbeatIntervalSeconds: 2,
  sendSentEvent: false,
});

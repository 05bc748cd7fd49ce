/** Which rule raised an alert. */
export type AlertRuleName = 'task-failed' | 'failure-rate' | 'worker-silent' | 'queue-backlog';

/**
 * An alert about the Celery deployment, handed to the app's `@OnCeleryAlert()` methods and, when
 * configured, POSTed as JSON to a webhook. Celery itself has no alerting (Flower neither); this is
 * the shape Prometheus Alertmanager users will recognise: a rule, a key, firing or resolved.
 */
export interface CeleryAlert {
  rule: AlertRuleName;
  /** `firing` when the condition starts; `resolved` when it ends (rules with a lasting condition only). */
  status: 'firing' | 'resolved';
  /** `critical` for lost capacity and failing work, `warning` for backlog. */
  severity: 'critical' | 'warning';
  /** What the alert is about: a task name, a worker's node name, a queue; one open alert per rule and key. */
  key: string;
  /** One human-readable line. */
  summary: string;
  /** The figures behind it (counts, thresholds, ages), for the receiver to format. */
  details: Record<string, unknown>;
  /** When the condition was seen (ISO 8601, UTC). */
  at: string;
}

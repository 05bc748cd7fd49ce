import { SetMetadata } from '@nestjs/common';
import type { AlertRuleName } from '../alerts/celery-alert';
import { CELERY_ALERT_METADATA } from '../celery.constants';

/** Options of `@OnCeleryAlert()`. */
export interface CeleryAlertMetadata {
  /** Only alerts of these rules; default every rule. */
  rules?: AlertRuleName[];
}

/**
 * Receives the deployment's alerts (the `alerts` option of `CeleryModule.forRoot()`): a task's
 * failure, a failure rate over a threshold, a worker gone silent, a queue backlog. Celery has no
 * alerting of its own; this is where a pager, Slack or e-mail plugs in. The method receives a
 * CeleryAlert; if it throws or rejects, the error is logged and other receivers still get the alert.
 *
 * ```ts
 * @OnCeleryAlert({ rules: ['worker-silent'] })
 * page(alert: CeleryAlert) { return this.pager.send(alert.summary); }
 * ```
 */
export function OnCeleryAlert(options: CeleryAlertMetadata = {}): MethodDecorator {
  return SetMetadata<string, CeleryAlertMetadata>(CELERY_ALERT_METADATA, options);
}

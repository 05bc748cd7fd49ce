import type { AlertListener } from './alert-delivery';
import type { AlertRuleName, CeleryAlert } from './celery-alert';

/**
 * The app's alert receivers (`@OnCeleryAlert()` methods, found at module init), each with the
 * rules it wants. `CeleryAlerts` calls `receive` for every alert.
 */
export class AlertListeners {
  private readonly listeners: { rules: ReadonlySet<AlertRuleName> | null; listener: AlertListener; source: string }[] = [];

  add(listener: AlertListener, options: { rules?: AlertRuleName[]; source: string }): void {
    this.listeners.push({ rules: options.rules ? new Set(options.rules) : null, listener, source: options.source });
  }

  get size(): number {
    return this.listeners.length;
  }

  /** Where each listener was declared (`Class.method`), for the start-up log. */
  get sources(): string[] {
    return this.listeners.map(({ source }) => source);
  }

  /** One listener that calls every registered one interested in the alert's rule. */
  readonly receive: AlertListener = async (alert: CeleryAlert) => {
    const interested = this.listeners.filter(({ rules }) => !rules || rules.has(alert.rule));
    // Each is awaited on its own so a throwing one does not keep the alert from the others.
    const outcomes = await Promise.allSettled(interested.map(({ listener }) => listener(alert)));
    const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    if (failed >= 0) {
      const { reason } = outcomes[failed] as PromiseRejectedResult;
      throw new Error(`${interested[failed].source}: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
  };
}

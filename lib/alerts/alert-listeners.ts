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

  /**
   * One listener that calls every registered one interested in the alert's rule. Each is called on
   * its own (a synchronous throw included), so a failing one does not keep the alert from the
   * others; every failure is reported, named after its method.
   */
  readonly receive: AlertListener = async (alert: CeleryAlert) => {
    const interested = this.listeners.filter(({ rules }) => !rules || rules.has(alert.rule));
    const outcomes = await Promise.allSettled(interested.map(({ listener }) => Promise.resolve().then(() => listener(alert))));
    const failures = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${interested[index].source}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`] : [],
    );
    if (failures.length > 0) throw new Error(failures.join('; '));
  };
}

import { maskSecretsInText } from '../utils/mask-secrets';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryAlert } from './celery-alert';

export type AlertListener = (alert: CeleryAlert) => void | Promise<void>;

export interface AlertDeliveryOptions {
  listeners: AlertListener[];
  webhookUrl?: string;
  webhookTimeoutMs: number;
  logger: CeleryLogger;
}

/** Attempts per webhook POST: the first and two retries, 1 s then 2 s apart. */
const WEBHOOK_ATTEMPTS = 3;

/**
 * Hands each alert to the app's listeners and, when configured, POSTs it as JSON to the webhook.
 * Never throws: a failing listener or an unreachable webhook is logged (URL masked) and the other
 * receivers still get the alert. Every alert is also logged, so none is lost silently.
 */
export class AlertDelivery {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: AlertDeliveryOptions) {}

  deliver(alert: CeleryAlert): void {
    const line = `Alert ${alert.status} [${alert.rule}] ${alert.summary}`;
    if (alert.status === 'firing') this.options.logger.warn(line);
    else this.options.logger.log(line);
    for (const listener of this.options.listeners) this.track(this.callListener(listener, alert));
    if (this.options.webhookUrl) this.track(this.post(this.options.webhookUrl, alert));
  }

  /** Waits for deliveries under way (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private track(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private async callListener(listener: AlertListener, alert: CeleryAlert): Promise<void> {
    try {
      await listener(alert);
    } catch (error) {
      this.options.logger.error(`An alert listener threw on a ${alert.rule} alert: ${describe(error)}`);
    }
  }

  private async post(url: string, alert: CeleryAlert): Promise<void> {
    let lastProblem = '';
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt += 1) {
      try {
        const { target, authorization } = splitCredentials(url);
        const response = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(this.options.webhookTimeoutMs),
        });
        if (response.ok) return;
        lastProblem = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429) break; // the receiver refuses it; retrying will not help
      } catch (error) {
        lastProblem = describe(error);
      }
      if (attempt < WEBHOOK_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
    this.options.logger.error(`The alert webhook at ${webhookOrigin(url)} did not take a ${alert.rule} alert (${lastProblem}); it is only in this log.`);
  }
}

/**
 * fetch() refuses URLs with credentials in them, so `https://user:password@host/…` becomes the
 * bare URL and an HTTP Basic authorization header, as curl does with the same URL.
 */
function splitCredentials(url: string): { target: string; authorization?: string } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { target: url };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/**
 * Where a webhook is, without its secrets: Slack, Teams and Discord put theirs in the path or the
 * query, and a password may be in the URL, so only the scheme, host and port are ever logged.
 */
function webhookOrigin(url: string): string {
  return new URL(url).origin;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
  return maskSecretsInText(text);
}

import type { CeleryAlert } from '../celery-alert';
import { heartbeatExpires } from '../../monitoring/monitored-worker';
import type { AlertRules } from '../alert-options';

interface HeardWorker {
  lastHeardAt: number;
  expiresAfterMs: number;
  silent: boolean;
}

/**
 * Fires when a worker that was alive stops sending heartbeats without a worker-offline (killed,
 * frozen, cut off), and resolves when it is heard again or says goodbye. A clean shutdown is not
 * an alert.
 */
export class WorkerSilenceRule {
  private readonly workers = new Map<string, HeardWorker>();

  constructor(private readonly rule: NonNullable<AlertRules['workerSilence']>) {}

  /** A worker-online or worker-heartbeat, `at` = when it was received here, `freqSeconds` = its heartbeat interval. */
  heard(hostname: string, at: number, freqSeconds: number): CeleryAlert[] {
    // Celery's own expiry unless the app set one: what Flower and `celery status` go by.
    const expiresAfterMs = this.rule.afterMs ?? heartbeatExpires(0, freqSeconds) * 1000;
    const known = this.workers.get(hostname);
    this.workers.set(hostname, { lastHeardAt: at, expiresAfterMs, silent: false });
    if (!known?.silent) return [];
    return [this.alert(hostname, 'resolved', `Worker ${hostname} is sending heartbeats again`, at, at - known.lastHeardAt)];
  }

  /** A worker-offline: it left on purpose. */
  left(hostname: string, at: number): CeleryAlert[] {
    const known = this.workers.get(hostname);
    this.workers.delete(hostname);
    if (!known?.silent) return [];
    return [this.alert(hostname, 'resolved', `Worker ${hostname} went offline cleanly after being silent`, at, at - known.lastHeardAt)];
  }

  evaluate(now: number): CeleryAlert[] {
    const alerts: CeleryAlert[] = [];
    for (const [hostname, worker] of this.workers) {
      const silentForMs = now - worker.lastHeardAt;
      if (worker.silent || silentForMs <= worker.expiresAfterMs) continue;
      worker.silent = true;
      alerts.push(this.alert(hostname, 'firing', `Worker ${hostname} sent no heartbeat for ${(silentForMs / 1000).toFixed(1)} s and did not go offline`, now, silentForMs));
    }
    return alerts;
  }

  private alert(hostname: string, status: CeleryAlert['status'], summary: string, at: number, silentForMs: number): CeleryAlert {
    const expiresAfterMs = this.workers.get(hostname)?.expiresAfterMs ?? this.rule.afterMs;
    return {
      rule: 'worker-silent',
      status,
      severity: 'critical',
      key: hostname,
      summary,
      details: { hostname, silentForSeconds: silentForMs / 1000, expiresAfterSeconds: expiresAfterMs === null ? null : expiresAfterMs / 1000 },
      at: new Date(at).toISOString(),
    };
  }
}

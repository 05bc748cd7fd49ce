import { AlertDelivery } from '../../lib/alerts/alert-delivery';
import { AlertEngine } from '../../lib/alerts/alert-engine';
import { resolveAlertRules } from '../../lib/alerts/alert-options';
import type { CeleryAlert } from '../../lib/alerts/celery-alert';
import { CeleryAlerts, ObservedEvents } from '../../lib/alerts/celery-alerts';
import type { CeleryEvent } from '../../lib/events/celery-event';
import { SILENT_LOGGER } from '../../lib/utils/logger';

/** Events pushed by the test, with the names a receiver would have learnt from task-received. */
class PushedEvents implements ObservedEvents {
  private listener: ((event: CeleryEvent) => void) | null = null;
  readonly names = new Map<string, string>();
  subscribe(listener: (event: CeleryEvent) => void) {
    this.listener = listener;
    return () => (this.listener = null);
  }
  taskName(uuid: string) {
    return this.names.get(uuid) ?? null;
  }
  push(type: string, fields: Record<string, unknown> = {}) {
    this.listener?.({ hostname: 'w1@host', utcoffset: 0, pid: 1, clock: 1, timestamp: 0, type, ...fields });
  }
}

describe('CeleryAlerts', () => {
  let now = 1_000_000;
  const received: CeleryAlert[] = [];
  const depths = new Map<string, number | null>();

  function start(events: PushedEvents, options: Parameters<typeof resolveAlertRules>[0]) {
    const alerts = new CeleryAlerts({
      engine: new AlertEngine(resolveAlertRules(options)),
      delivery: new AlertDelivery({ listeners: [(alert) => void received.push(alert)], webhookTimeoutMs: 1000, logger: SILENT_LOGGER }),
      events,
      queueDepth: async (queue) => depths.get(queue) ?? null,
      tickIntervalMs: 20,
      queueCheckIntervalMs: 20,
      logger: SILENT_LOGGER,
      now: () => now,
    });
    alerts.start();
    return alerts;
  }

  beforeEach(() => {
    received.length = 0;
    depths.clear();
  });

  it('turns task-failed events into alerts named after the task-received name', async () => {
    const events = new PushedEvents();
    const alerts = start(events, { taskFailure: { cooldownSeconds: 0 } });
    events.names.set('t1', 'tasks.pay');
    events.push('task-succeeded', { uuid: 't0' });
    events.push('task-failed', { uuid: 't1', exception: "KeyError('card')" });
    await alerts.stop();
    expect(received).toEqual([expect.objectContaining({ rule: 'task-failed', key: 'tasks.pay', summary: "Task tasks.pay[t1] failed on w1@host: KeyError('card')" })]);
    events.push('task-failed', { uuid: 't2' });
    expect(received).toHaveLength(1); // stopped: no longer listening
  });

  it('ticks the silence rule with the heartbeat interval the worker announced', async () => {
    const events = new PushedEvents();
    const alerts = start(events, {});
    events.push('worker-heartbeat', { freq: 0.1 });
    now += 250;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([expect.objectContaining({ rule: 'worker-silent', status: 'firing', key: 'w1@host' })]);
    events.push('worker-heartbeat', { freq: 0.1 });
    await alerts.stop();
    expect(received.map((alert) => alert.status)).toEqual(['firing', 'resolved']);
  });

  it('reads the watched queues on its interval', async () => {
    const events = new PushedEvents();
    depths.set('celery', 5);
    const alerts = start(events, { taskFailure: false, queueBacklog: { maxDepth: { celery: 3, other: 3 } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    depths.set('celery', 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await alerts.stop();
    expect(received.map(({ rule, key, status }) => `${rule} ${key} ${status}`)).toEqual(['queue-backlog celery firing', 'queue-backlog celery resolved']);
  });
});

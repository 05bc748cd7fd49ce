import type { CeleryAlert } from '../celery-alert';
import type { AlertRules } from '../alert-options';

/** Fires when a watched queue holds more ready messages than its limit; resolves when it is back under. */
export class QueueBacklogRule {
  private readonly backlogged = new Set<string>();

  constructor(private readonly rule: NonNullable<AlertRules['queueBacklog']>) {}

  get queues(): string[] {
    return [...this.rule.maxDepth.keys()];
  }

  /** A depth reading; null = the queue does not exist (nothing waits in it). */
  depthRead(queue: string, depth: number | null, at: number): CeleryAlert[] {
    const maxDepth = this.rule.maxDepth.get(queue);
    if (maxDepth === undefined) return [];
    const ready = depth ?? 0;
    const over = ready > maxDepth;
    if (over === this.backlogged.has(queue)) return [];
    if (over) this.backlogged.add(queue);
    else this.backlogged.delete(queue);
    return [
      {
        rule: 'queue-backlog',
        status: over ? 'firing' : 'resolved',
        severity: 'warning',
        key: queue,
        summary: over
          ? `Queue ${queue} holds ${ready} ready messages, over its limit of ${maxDepth}`
          : `Queue ${queue} is back to ${ready} ready messages (limit ${maxDepth})`,
        details: { queue, depth: ready, maxDepth },
        at: new Date(at).toISOString(),
      },
    ];
  }
}

import type { CeleryEvent } from '../events/celery-event';
import type { CeleryLogger } from '../utils/logger';
import type { AlertDelivery } from './alert-delivery';
import type { AlertEngine } from './alert-engine';
import type { CeleryAlert } from './celery-alert';

/** The Celery events of the whole deployment, as a receiver on `celeryev` hands them out. */
export interface ObservedEvents {
  /** Calls `listener` with every event received from now on; returns the unsubscribe function. */
  subscribe(listener: (event: CeleryEvent) => void): () => void;
  /** A task's name from its task-received event (task-failed does not carry it); null when unseen. */
  taskName(uuid: string): string | null;
}

/** Reads how many messages are ready in a queue (a passive declare); null when it does not exist. */
export type QueueDepthReader = (queue: string) => Promise<number | null>;

export interface CeleryAlertsDependencies {
  engine: AlertEngine;
  delivery: AlertDelivery;
  events: ObservedEvents;
  queueDepth: QueueDepthReader;
  /** How often time-based rules are evaluated, ms. */
  tickIntervalMs: number;
  /** How often queue depths are read, ms (the backlog rule's `checkIntervalMs`). */
  queueCheckIntervalMs: number;
  logger: CeleryLogger;
  /** The clock, ms since the epoch; tests pass their own. */
  now?: () => number;
}

/**
 * Runs the alert rules on the live deployment: Celery events in (task-succeeded/-failed, worker
 * heartbeats and goodbyes), queue depths read on an interval, time-based rules ticked, and every
 * alert handed to the delivery. Python workers are watched the same as ours, as Flower watches them.
 */
export class CeleryAlerts {
  private unsubscribe: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private readingDepths = false;

  constructor(private readonly deps: CeleryAlertsDependencies) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.deps.events.subscribe((event) => this.observe(event));
    this.timers.push(setInterval(() => this.raise(this.deps.engine.tick(this.now())), this.deps.tickIntervalMs));
    if (this.deps.engine.watchedQueues.length > 0) {
      this.timers.push(setInterval(() => void this.readQueueDepths(), this.deps.queueCheckIntervalMs));
      void this.readQueueDepths();
    }
    for (const timer of this.timers) timer.unref();
  }

  /** Stops watching and waits for the alerts being delivered. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.deps.delivery.settle();
  }

  private observe(event: CeleryEvent): void {
    const { engine } = this.deps;
    const at = this.now();
    switch (event.type) {
      case 'task-succeeded':
      case 'task-failed': {
        const uuid = String(event.uuid);
        this.raise(
          engine.taskFinished({
            uuid,
            name: this.deps.events.taskName(uuid),
            state: event.type === 'task-failed' ? 'FAILURE' : 'SUCCESS',
            hostname: event.hostname,
            exception: typeof event.exception === 'string' ? event.exception : undefined,
            at,
          }),
        );
        return;
      }
      case 'worker-online':
      case 'worker-heartbeat':
        this.raise(engine.workerHeard(event.hostname, at, typeof event.freq === 'number' ? event.freq : 2));
        return;
      case 'worker-offline':
        this.raise(engine.workerLeft(event.hostname, at));
        return;
    }
  }

  private async readQueueDepths(): Promise<void> {
    if (this.readingDepths) return; // a slow broker must not pile up reads
    this.readingDepths = true;
    try {
      for (const queue of this.deps.engine.watchedQueues) {
        try {
          const depth = await this.deps.queueDepth(queue);
          this.raise(this.deps.engine.queueDepthRead(queue, depth, this.now()));
        } catch (error) {
          this.deps.logger.warn(`Could not read the depth of queue ${queue} for the backlog alert: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    } finally {
      this.readingDepths = false;
    }
  }

  private raise(alerts: CeleryAlert[]): void {
    if (!this.unsubscribe) return; // stopped: a depth read that was under way raises nothing
    for (const alert of alerts) this.deps.delivery.deliver(alert);
  }
}

import type { Broker, OutgoingMessage } from '../broker/broker.interface';
import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryEvent, EventFields } from './celery-event';
import { encodeEventMessage } from './encode-event-message';
import { EVENT_EXCHANGE, eventRoutingKey, TASK_BATCH_ROUTING_KEY } from './event-exchange';
import { utcOffsetHours } from './utc-offset';

/** Celery's `buffer_limit`: a batch of task events is published once it holds this many. */
export const TASK_BATCH_LIMIT = 24;

/** The time zone can change under a long-running process (DST): look again at most this often. */
const UTC_OFFSET_REFRESH_MS = 60_000;

/** All a dispatcher needs of the broker. */
export type EventBroker = Pick<Broker, 'declareExchange' | 'publish'>;

export interface EventDispatcherDependencies {
  broker: EventBroker;
  /** The node name events are sent under: a worker's `-n`, or `gen<pid>@<host>` for a client. */
  hostname: string;
  /** The app's Lamport clock, shared with remote control: each event forwards it. */
  clock: LamportClock;
  logger: CeleryLogger;
}

/**
 * Sends Celery events to the `celeryev` exchange (Celery's `app.events.Dispatcher`,
 * celery-protocol.md §8): `send()` publishes one event now (worker events, `task-sent`);
 * `buffer()` collects task events and publishes them as one `task.multi` batch on the next turn
 * of the event loop, or as soon as 24 are waiting, as a Celery worker does.
 *
 * Never throws and never waits: events are best effort. A publish the broker refuses (or does
 * not confirm within its publish timeout) is dropped with one warning until publishing works
 * again. The exchange is declared before the first publish, as kombu does.
 */
export class EventDispatcher {
  private batch: CeleryEvent[] = [];
  private flushScheduled: NodeJS.Immediate | null = null;
  private exchangeDeclared = false;
  private declaring: Promise<void> | null = null;
  private failing = false;
  private utcoffset = utcOffsetHours();
  private utcoffsetCheckedAt = Date.now();

  constructor(private readonly deps: EventDispatcherDependencies) {}

  /** Publishes one event now, with routing key = its type with `-` as `.`. */
  send(type: string, fields: EventFields): void {
    this.publish(eventRoutingKey(type), this.createEvent(type, fields));
  }

  /** Adds a task event to the batch published on the next tick (or now, at 24 events). */
  buffer(type: string, fields: EventFields): void {
    this.batch.push(this.createEvent(type, fields));
    if (this.batch.length >= TASK_BATCH_LIMIT) this.flush();
    else if (this.flushScheduled === null) this.flushScheduled = setImmediate(this.flushOnNextTick);
  }

  /** Publishes the waiting task events now, as one batch. */
  flush(): void {
    if (this.flushScheduled !== null) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    if (this.batch.length === 0) return;
    const events = this.batch;
    this.batch = [];
    this.publish(TASK_BATCH_ROUTING_KEY, events);
  }

  private readonly flushOnNextTick = (): void => {
    this.flushScheduled = null;
    this.flush();
  };

  /** Celery's `Event()`: common fields first, then the type's own, then `timestamp` and `type`. */
  private createEvent(type: string, fields: EventFields): CeleryEvent {
    const now = Date.now();
    if (now - this.utcoffsetCheckedAt > UTC_OFFSET_REFRESH_MS) {
      this.utcoffset = utcOffsetHours();
      this.utcoffsetCheckedAt = now;
    }
    return {
      hostname: this.deps.hostname,
      utcoffset: this.utcoffset,
      pid: process.pid,
      clock: this.deps.clock.forward(),
      ...fields,
      timestamp: now / 1000,
      type,
    };
  }

  private publish(routingKey: string, payload: CeleryEvent | CeleryEvent[]): void {
    let message: OutgoingMessage;
    try {
      message = encodeEventMessage(routingKey, this.deps.hostname, payload);
    } catch (error) {
      this.deps.logger.warn(`Could not encode Celery event ${routingKey}: ${(error as Error).message}`);
      return;
    }
    const { broker } = this.deps;
    // Until the exchange exists, publishes wait for its declaration (in order: .then callbacks run in turn).
    const sending = this.exchangeDeclared ? broker.publish(message) : this.declareExchange().then(() => broker.publish(message));
    // The broker's close() waits for what it has been given, so nothing needs to be tracked here.
    void sending.then(this.onPublished, this.onPublishFailed);
  }

  private declareExchange(): Promise<void> {
    this.declaring ??= this.deps.broker.declareExchange(EVENT_EXCHANGE).then(
      () => {
        this.exchangeDeclared = true;
      },
      (error: unknown) => {
        this.declaring = null; // the next event tries again
        throw error;
      },
    );
    return this.declaring;
  }

  private readonly onPublished = (): void => {
    if (!this.failing) return;
    this.failing = false;
    this.deps.logger.log(`Celery events are reaching ${EVENT_EXCHANGE.name} again`);
  };

  private readonly onPublishFailed = (error: unknown): void => {
    if (this.failing) return;
    this.failing = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.deps.logger.warn(`Could not send Celery events to ${EVENT_EXCHANGE.name} (${reason}); they are dropped until the broker takes them again`);
  };
}

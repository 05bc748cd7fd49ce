import { randomUUID } from 'node:crypto';
import type { Broker, Consumer, DeliveredMessage } from '../broker/broker.interface';
import type { ControlClient } from '../control/control-client';
import { EVENT_EXCHANGE } from '../events/event-exchange';
import { utcOffsetHours } from '../events/utc-offset';
import { LamportClock } from '../protocol/lamport-clock';
import { CeleryLogger, SILENT_LOGGER } from '../utils/logger';
import { eventQueueDeclaration } from './event-queue';
import { decodeEventMessage, localizeEvent, LocalClock, ReceivedEvent } from './received-event';

export interface CeleryEventReceiverDependencies {
  broker: Broker;
  /** The app's Lamport clock; a receiver of its own gets a new one. */
  clock?: LamportClock;
  /**
   * When given, `start()` broadcasts `heartbeat` once consuming, so every worker sends a
   * worker-heartbeat at once instead of within its interval (Celery's `wakeup_workers`).
   */
  control?: ControlClient;
  logger?: CeleryLogger;
  /** Seconds since the epoch; tests pass their own. */
  now?: () => number;
}

/** Called with each event, in arrival order (a `task.multi` batch in its own order). */
export type EventHandler = (event: ReceivedEvent) => void;

/**
 * Celery's `EventReceiver` (what `celery events` and Flower consume with): a queue of its own,
 * `celeryev.<uuid>`, bound to the `celeryev` topic exchange with `#`, so it gets every worker's
 * and client's events, Python or Nest. Messages are JSON objects or `task.multi` arrays; each
 * event is localised (clock, timezone, `local_received`) before handlers see it.
 */
export class CeleryEventReceiver {
  /** Celery's `node_id`: names this receiver's queue. */
  readonly nodeId = randomUUID();
  private readonly handlers = new Set<EventHandler>();
  private readonly logger: CeleryLogger;
  private readonly localClock: LocalClock;
  private consumer: Consumer | null = null;

  constructor(private readonly deps: CeleryEventReceiverDependencies) {
    this.logger = deps.logger ?? SILENT_LOGGER;
    const clock = deps.clock ?? new LamportClock();
    const now = deps.now ?? (() => Date.now() / 1000);
    this.localClock = {
      adjust: (other) => clock.adjust(other),
      forward: () => clock.forward(),
      get value() {
        return clock.value;
      },
      now,
      utcOffsetHours: utcOffsetHours(),
    };
  }

  /** The queue this receiver consumes from. */
  get queueName(): string {
    return eventQueueDeclaration(this.nodeId).name;
  }

  /** Adds a handler; returns the function that removes it. */
  onEvent(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Declares `celeryev` (workers may not have yet), starts consuming and wakes the workers up. */
  async start(): Promise<void> {
    if (this.consumer) return;
    await this.deps.broker.declareExchange(EVENT_EXCHANGE);
    this.consumer = await this.deps.broker.consume({
      queues: [eventQueueDeclaration(this.nodeId)],
      // Celery consumes events with no_ack; unbounded here too, each is acked on arrival.
      prefetch: 0,
      onMessage: (message) => this.receive(message),
    });
    await this.deps.control?.broadcast('heartbeat').catch((error: Error) => this.logger.warn(`Could not ask the workers for a heartbeat: ${error.message}`));
  }

  /** Stops consuming; RabbitMQ then deletes the auto-delete queue. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.cancel();
  }

  private receive(message: DeliveredMessage): void {
    message.ack();
    const decoded = decodeEventMessage(message.body, message.properties);
    if (!decoded.ok) {
      this.logger.warn(`Dropped a message on ${this.queueName} (routing key ${message.deliveryInfo.routingKey}): ${decoded.reason}`);
      return;
    }
    for (const fields of decoded.events) {
      const event = localizeEvent(fields, this.localClock);
      for (const handler of this.handlers) {
        try {
          handler(event);
        } catch (error) {
          this.logger.error(`An event handler failed on ${event.type}: ${(error as Error).message}`, (error as Error).stack);
        }
      }
    }
  }
}

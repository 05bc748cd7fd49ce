import type { Broker, DeliveredMessage, QueueDeclaration } from '../broker/broker.interface';
import { bindQueueToDelayedDelivery, delayReturnRoutingKey } from '../broker/delayed-delivery/delayed-delivery-bindings';
import { DELAY_ENTRY_EXCHANGE, MAX_DELAY_SECONDS } from '../broker/delayed-delivery/delayed-delivery-names';
import { declareDelayedDeliveryTopology, type DelayedDeliveryQueueType } from '../broker/delayed-delivery/delayed-delivery-topology';
import { delayedRoutingKey } from '../broker/delayed-delivery/delayed-routing-key';
import type { CeleryLogger } from '../utils/logger';

/** How far-ETA tasks are parked (from WorkerOptions). */
export interface EtaParkingOptions {
  /** Park a task whose eta is more than this many seconds away; 0 never parks. */
  thresholdSeconds: number;
  /** Type of the delay-level queues (Celery 5.5: `broker_native_delayed_delivery_queue_type`). */
  queueType: DelayedDeliveryQueueType;
}

/**
 * Parks tasks whose eta is far away in Celery 5.5's delay levels (native delayed delivery, see
 * lib/broker/delayed-delivery) instead of holding them unacked in the worker until then, as
 * Celery 5.2.6 does. A held message takes a prefetch slot for hours and trips RabbitMQ's
 * `consumer_timeout` (30 min), which closes the channel and redelivers it, over and over. A parked
 * message is republished unchanged (same body, headers and properties) to `celery_delayed_27`
 * with the remaining whole seconds in its routing key, confirmed, and only then acked; it comes
 * back to its queue up to a second before its eta and is held for the rest. A connection lost
 * between the confirm and the ack leaves both copies, as any publish-then-ack does (at least once).
 */
export class EtaParking {
  /** The consumed queues, bound to the delay levels, by name; empty while parking is off. */
  private readonly queues = new Map<string, QueueDeclaration>();
  private readonly unparkableQueuesReported = new Set<string>();
  private publishFailureReported = false;
  /** True once prepare() set parking up: add() binds more queues then. */
  private prepared = false;
  /** The current prepare(), settled (never rejected) once parking is on or off. */
  private preparing: Promise<void> = Promise.resolve();

  constructor(
    private readonly broker: Broker,
    private readonly options: EtaParkingOptions,
    private readonly logger: CeleryLogger,
  ) {}

  /**
   * Declares the delay levels and binds the worker's queues to them, as a Celery 5.5 worker does
   * at start-up (its `DelayedDelivery` bootstep). When the broker refuses (levels declared with
   * another queue type, say) parking stays off, with a warning, and far-ETA tasks are held.
   */
  prepare(queues: readonly QueueDeclaration[]): Promise<void> {
    this.preparing = this.declareAndBind(queues);
    return this.preparing;
  }

  /** Settles when the current prepare() has: a task that may be parked waits for it (see mayWant()). */
  ready(): Promise<void> {
    return this.preparing;
  }

  private async declareAndBind(queues: readonly QueueDeclaration[]): Promise<void> {
    this.queues.clear();
    this.prepared = false;
    if (this.options.thresholdSeconds <= 0 || this.broker.supportsDelayedDelivery === false) return;
    try {
      await declareDelayedDeliveryTopology(this.broker, this.options.queueType, queues);
    } catch (error) {
      this.logger.warn(
        `Could not declare the delayed delivery queues (celery_delayed_*, ${this.options.queueType}): ${(error as Error).message} ` +
          `Tasks with a far ETA will be held unacked in the worker until then instead.`,
      );
      return;
    }
    for (const queue of queues) this.queues.set(queue.name, queue);
    this.prepared = true;
  }

  /**
   * Binds a queue the worker consumes from now on (Celery's `add_consumer`) to the delay levels,
   * as prepare() bound the others; nothing when parking is off. If the broker refuses, the
   * queue's far-ETA tasks are held in the worker instead, with a warning.
   */
  async add(queue: QueueDeclaration): Promise<void> {
    await this.preparing; // an add_consumer may come while the worker's start-up still prepares
    if (!this.prepared || this.queues.has(queue.name)) return;
    try {
      await bindQueueToDelayedDelivery(this.broker, queue);
    } catch (error) {
      this.logger.warn(
        `Could not bind queue "${queue.name}" to the delayed delivery queues: ${(error as Error).message} ` +
          `Tasks with a far ETA from it will be held unacked in the worker until then instead.`,
      );
      return;
    }
    this.queues.set(queue.name, queue);
  }

  /** True when a task due at `eta` should be parked rather than held. */
  wants(eta: Date): boolean {
    return this.queues.size > 0 && this.farEnough(eta);
  }

  /**
   * True when a task due at `eta` is far enough away to be parked once prepare() is done: such a
   * task waits for ready() and asks wants() then. Parking is never off-by-option here.
   */
  mayWant(eta: Date): boolean {
    return this.options.thresholdSeconds > 0 && this.broker.supportsDelayedDelivery !== false && this.farEnough(eta);
  }

  private farEnough(eta: Date): boolean {
    const remainingMs = eta.getTime() - Date.now();
    // Whole seconds only, rounded down: a remaining time under one second cannot be parked.
    return remainingMs > this.options.thresholdSeconds * 1000 && remainingMs >= 1000;
  }

  /**
   * Parks the message; resolves true once it is in the delay levels and acked, false when it
   * could not be parked and is still unsettled, for the caller to hold. Never rejects.
   */
  async park(delivery: DeliveredMessage, eta: Date): Promise<boolean> {
    const queue = this.queues.get(delivery.deliveryInfo.queue);
    const returnKey = queue && delayReturnRoutingKey(queue, delivery.deliveryInfo);
    if (!queue || returnKey === undefined) {
      this.reportUnparkable(delivery.deliveryInfo.queue);
      return false;
    }
    const countdownSeconds = Math.min(Math.max(Math.floor((eta.getTime() - Date.now()) / 1000), 1), MAX_DELAY_SECONDS);
    try {
      await this.broker.publish({
        exchange: DELAY_ENTRY_EXCHANGE,
        routingKey: delayedRoutingKey(countdownSeconds, returnKey),
        body: delivery.body,
        properties: delivery.properties,
      });
    } catch (error) {
      this.reportPublishFailure(error as Error);
      return false;
    }
    delivery.ack();
    return true;
  }

  private reportUnparkable(queue: string): void {
    if (this.unparkableQueuesReported.has(queue)) return;
    this.unparkableQueuesReported.add(queue);
    this.logger.warn(
      `Tasks with a far ETA from queue "${queue}" are held in the worker until then: no routing key is sure to bring ` +
        `them back from the delay levels to that queue alone (a fanout exchange, or a key its binding does not match).`,
    );
  }

  private reportPublishFailure(error: Error): void {
    if (this.publishFailureReported) return;
    this.publishFailureReported = true;
    this.logger.warn(`Could not park a task with a far ETA in ${DELAY_ENTRY_EXCHANGE} (${error.message}); holding it, and any other that fails, in the worker until its ETA.`);
  }
}

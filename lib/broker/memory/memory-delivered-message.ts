import type { InFlightEntry } from '../../utils/in-flight-set';
import type { DeliveredMessage, DeliveryInfo, MessageProperties } from '../broker.interface';
import type { MemoryQueue } from './memory-queue';
import type { StoredMessage } from './stored-message';

/** What a delivered message reports back to when it is settled. */
export interface SettlementTarget {
  ack(delivered: MemoryDeliveredMessage): void;
  reject(delivered: MemoryDeliveredMessage, requeue: boolean): void;
}

/** A message handed to an in-process consumer; settling twice, or after the broker closed, does nothing. */
export class MemoryDeliveredMessage implements DeliveredMessage {
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly deliveryInfo: DeliveryInfo;
  /** Its place among its consumer's unsettled messages, kept here so settling needs no lookup (MemoryConsumer.unsettled). */
  unsettled: InFlightEntry<MemoryDeliveredMessage> | undefined = undefined;
  private settled = false;

  constructor(
    readonly stored: StoredMessage,
    readonly queue: MemoryQueue,
    private readonly target: SettlementTarget,
  ) {
    this.body = stored.body;
    this.properties = stored.properties;
    this.deliveryInfo = { exchange: stored.exchange, routingKey: stored.routingKey, redelivered: stored.redelivered, queue: queue.name };
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.target.ack(this);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.target.reject(this, requeue);
  }

  /** Marks it settled without telling anyone; true if it was still unsettled (used when the consumer goes away). */
  abandon(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

import type { InFlightEntry } from '../../utils/in-flight-set';
import type { DeliveredMessage, DeliveryInfo, MessageProperties } from '../broker.interface';
import { envelopeBody, envelopeProperties, type KombuEnvelope } from '../kombu-envelope';
import type { SqsQueue } from './sqs-queue-directory';

/** What a delivered message reports back to when it is settled. */
export interface SqsSettlement {
  /** kombu's `basic_ack`: DeleteMessage. */
  ack(message: SqsDeliveredMessage): void;
  /** requeue: visible again at once (ChangeMessageVisibility 0); otherwise deleted (dropped). */
  reject(message: SqsDeliveredMessage, requeue: boolean): void;
}

/**
 * A message received from an SQS queue; settling twice does nothing. `redelivered` is SQS's
 * ApproximateReceiveCount above 1: the message was received before and not deleted (a worker
 * died or gave it back), what kombu's `redelivered` means on other transports.
 */
export class SqsDeliveredMessage implements DeliveredMessage {
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly deliveryInfo: DeliveryInfo;
  /** Its place among its consumer's unsettled messages, kept here so settling needs no lookup (SqsConsumer.unsettled). */
  unsettled: InFlightEntry<SqsDeliveredMessage> | undefined = undefined;
  private settled = false;

  constructor(
    envelope: KombuEnvelope,
    readonly queue: SqsQueue,
    readonly receiptHandle: string,
    receiveCount: number,
    private readonly settlement: SqsSettlement,
  ) {
    const info = envelope.properties.delivery_info ?? { exchange: '', routing_key: queue.name };
    this.body = envelopeBody(envelope);
    this.properties = envelopeProperties(envelope);
    this.deliveryInfo = { exchange: info.exchange ?? '', routingKey: info.routing_key || queue.name, redelivered: receiveCount > 1, queue: queue.name };
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.settlement.ack(this);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.settlement.reject(this, requeue);
  }
}

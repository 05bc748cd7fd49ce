import type { DeliveredMessage, DeliveryInfo, MessageProperties } from '../broker.interface';
import { envelopeBody, envelopeProperties, type KombuEnvelope } from '../kombu-envelope';

/** What a delivered message reports back to when it is settled. */
export interface RedisSettlement {
  ack(tag: string): void;
  reject(tag: string, requeue: boolean): void;
}

/** A message read from a Redis list or fanout channel; settling twice does nothing. */
export class RedisDeliveredMessage implements DeliveredMessage {
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly deliveryInfo: DeliveryInfo;
  readonly tag: string;
  private settled = false;

  constructor(
    envelope: KombuEnvelope,
    queue: string,
    private readonly settlement: RedisSettlement,
  ) {
    const info = envelope.properties.delivery_info ?? { exchange: '', routing_key: queue };
    this.tag = envelope.properties.delivery_tag;
    this.body = envelopeBody(envelope);
    this.properties = envelopeProperties(envelope);
    this.deliveryInfo = { exchange: info.exchange ?? '', routingKey: info.routing_key ?? queue, redelivered: info.redelivered === true, queue };
  }

  /** Acked or rejected already. */
  get isSettled(): boolean {
    return this.settled;
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.settlement.ack(this.tag);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.settlement.reject(this.tag, requeue);
  }
}

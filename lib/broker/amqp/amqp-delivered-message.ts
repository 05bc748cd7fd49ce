import type { Channel, ConsumeMessage } from 'amqplib';
import type { DeliveredMessage, DeliveryInfo, MessageProperties } from '../broker.interface';
import { toMessageProperties } from './message-properties';

/** The channel a delivery came on, with what is needed to settle it and to count what is unsettled. */
export interface DeliverySession {
  readonly channel: Channel;
  /** Called once per message when it is acked or rejected. */
  settled(): void;
}

/**
 * A message from RabbitMQ, settled on the channel it came on. Settling twice, or after that
 * channel died, does nothing: a second ack would make RabbitMQ close the channel
 * (PRECONDITION_FAILED unknown delivery tag), and a dead channel's messages are redelivered anyway.
 */
export class AmqpDeliveredMessage implements DeliveredMessage {
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly deliveryInfo: DeliveryInfo;
  private isSettled = false;

  constructor(
    private readonly session: DeliverySession,
    private readonly raw: ConsumeMessage,
    queue: string,
  ) {
    this.body = raw.content;
    this.properties = toMessageProperties(raw.properties);
    this.deliveryInfo = {
      exchange: raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      redelivered: raw.fields.redelivered,
      queue,
    };
  }

  ack(): void {
    if (this.isSettled) return;
    this.isSettled = true;
    try {
      this.session.channel.ack(this.raw);
    } catch {
      // The channel is closed: RabbitMQ will redeliver the message.
    }
    this.session.settled();
  }

  reject(requeue: boolean): void {
    if (this.isSettled) return;
    this.isSettled = true;
    try {
      this.session.channel.reject(this.raw, requeue);
    } catch {
      // The channel is closed: RabbitMQ will redeliver the message.
    }
    this.session.settled();
  }
}

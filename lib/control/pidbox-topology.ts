import type { ExchangeDeclaration, QueueDeclaration } from '../broker/broker.interface';

/**
 * Where Celery's remote control travels (kombu's `Mailbox('celery')`, celery-protocol.md §1.4
 * row 2 and §9), declared exactly as Python Celery 5.2.6 declares it: any difference in flags or
 * arguments makes RabbitMQ refuse one side with PRECONDITION_FAILED.
 */
export const PIDBOX_EXCHANGE: ExchangeDeclaration = { name: 'celery.pidbox', type: 'fanout', durable: false, autoDelete: false };

/** The exchange replies go to unless a request names another (kombu's `reply_exchange`). */
export const PIDBOX_REPLY_EXCHANGE_NAME = 'reply.celery.pidbox';

/** Celery's `control_queue_expires` (10 s) and `control_queue_ttl` (300 s), as RabbitMQ arguments. */
const CONTROL_QUEUE_ARGUMENTS = { 'x-expires': 10_000, 'x-message-ttl': 300_000 } as const;

/** A reply exchange as the replier declares it before publishing: direct, non-durable. */
export function replyExchangeDeclaration(name: string): ExchangeDeclaration {
  return { name, type: 'direct', durable: false, autoDelete: false };
}

/** A worker's mailbox, `<nodename>.celery.pidbox`, bound to the fanout exchange. */
export function nodeQueueDeclaration(nodename: string): QueueDeclaration {
  return {
    name: `${nodename}.${PIDBOX_EXCHANGE.name}`,
    durable: false,
    exclusive: false,
    autoDelete: true,
    arguments: { ...CONTROL_QUEUE_ARGUMENTS },
    exchange: PIDBOX_EXCHANGE,
    routingKey: '',
  };
}

/** A client's reply queue, `<oid>.reply.celery.pidbox`, bound to the reply exchange with key = oid. */
export function clientReplyQueueDeclaration(oid: string): QueueDeclaration {
  return {
    name: `${oid}.${PIDBOX_REPLY_EXCHANGE_NAME}`,
    durable: false,
    exclusive: false,
    autoDelete: true,
    arguments: { ...CONTROL_QUEUE_ARGUMENTS },
    exchange: replyExchangeDeclaration(PIDBOX_REPLY_EXCHANGE_NAME),
    routingKey: oid,
  };
}

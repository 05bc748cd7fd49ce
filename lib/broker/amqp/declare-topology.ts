import type { Channel } from 'amqplib';
import { QueueDeclarationError } from '../../errors/queue-declaration.error';
import type { ExchangeDeclaration, QueueDeclaration } from '../broker.interface';
import { describeExchange, describeQueue } from '../describe-declaration';
import { brokerReplyText, isChannelError } from './amqp-channel-errors';

/**
 * Declares a queue the way kombu's `Queue.declare()` does: the exchange (never the default
 * exchange ""), the queue with exactly the given flags and arguments, then the binding. A binding
 * key left out is "" as in kombu. RabbitMQ refusing any step becomes a QueueDeclarationError;
 * the channel is then closed by the broker.
 */
export async function declareQueueOn(channel: Channel, queue: QueueDeclaration): Promise<void> {
  const exchange = queue.exchange && queue.exchange.name !== '' ? queue.exchange : undefined;
  try {
    if (exchange) await assertExchange(channel, exchange);
    await channel.assertQueue(queue.name, {
      durable: queue.durable,
      exclusive: queue.exclusive,
      autoDelete: queue.autoDelete,
      arguments: queue.arguments,
    });
    if (exchange) await channel.bindQueue(queue.name, exchange.name, queue.routingKey ?? '');
  } catch (error) {
    if (!isChannelError(error)) throw error;
    throw new QueueDeclarationError('queue', queue.name, describeQueue(queue), brokerReplyText(error), error.code, { cause: error });
  }
}

/** Declares an exchange on its own (Celery's `celeryev`, for instance); refusals become a QueueDeclarationError. */
export async function declareExchangeOn(channel: Channel, exchange: ExchangeDeclaration): Promise<void> {
  try {
    await assertExchange(channel, exchange);
  } catch (error) {
    if (!isChannelError(error)) throw error;
    throw new QueueDeclarationError('exchange', exchange.name, describeExchange(exchange), brokerReplyText(error), error.code, { cause: error });
  }
}

/**
 * Binds exchange `destination` to exchange `source` with `routingKey` (kombu `Exchange.bind_to`);
 * a refusal (an exchange missing: 404) becomes a QueueDeclarationError.
 */
export async function bindExchangeOn(channel: Channel, destination: string, source: string, routingKey: string): Promise<void> {
  try {
    await channel.bindExchange(destination, source, routingKey);
  } catch (error) {
    if (!isChannelError(error)) throw error;
    const requested = `bound to exchange "${source}" with key "${routingKey}"`;
    throw new QueueDeclarationError('exchange binding', destination, requested, brokerReplyText(error), error.code, { cause: error });
  }
}

function assertExchange(channel: Channel, exchange: ExchangeDeclaration): Promise<unknown> {
  return channel.assertExchange(exchange.name, exchange.type, {
    durable: exchange.durable,
    autoDelete: exchange.autoDelete ?? false,
  });
}

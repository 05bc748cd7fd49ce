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

/**
 * The AMQP methods of one declaration, sent on `channel` at once, without waiting for RabbitMQ's
 * replies; the returned promises settle on them. amqplib sends a channel's calls in the order
 * they are made, so a batch of these keeps each exchange before its queue and binding.
 */
export type DeclarationMethods = (channel: Channel) => Promise<unknown>[];

/** declareQueueOn()'s methods, for a batch: exchange, queue, binding. */
export function queueMethods(queue: QueueDeclaration): DeclarationMethods {
  const exchange = queue.exchange && queue.exchange.name !== '' ? queue.exchange : undefined;
  return (channel) => [
    ...(exchange ? [assertExchange(channel, exchange)] : []),
    channel.assertQueue(queue.name, { durable: queue.durable, exclusive: queue.exclusive, autoDelete: queue.autoDelete, arguments: queue.arguments }),
    ...(exchange ? [channel.bindQueue(queue.name, exchange.name, queue.routingKey ?? '')] : []),
  ];
}

/** declareExchangeOn()'s method, for a batch. */
export function exchangeMethods(exchange: ExchangeDeclaration): DeclarationMethods {
  return (channel) => [assertExchange(channel, exchange)];
}

/** bindExchangeOn()'s method, for a batch. */
export function exchangeBindingMethods(destination: string, source: string, routingKey: string): DeclarationMethods {
  return (channel) => [channel.bindExchange(destination, source, routingKey)];
}

/**
 * Sends every declaration of a batch on one channel, then waits for all the replies: one channel
 * opened and closed instead of one per declaration. Rejects with the first failure; a refusal has
 * then closed the channel, and which declaration it was is for the caller to find out (by
 * declaring each on a channel of its own, which names it).
 */
export async function declareBatchOn(channel: Channel, batch: readonly DeclarationMethods[]): Promise<void> {
  const replies: Promise<unknown>[] = [];
  for (const methods of batch) {
    try {
      replies.push(...methods(channel));
    } catch (error) {
      // amqplib throws synchronously on a channel already closed or an argument it cannot encode.
      replies.push(Promise.reject(error));
      break;
    }
  }
  // Every reply is awaited, so none of the rejections that follow a refusal goes unhandled.
  const outcomes = await Promise.allSettled(replies);
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

import type { Channel, ChannelModel } from 'amqplib';
import { QueueDeclarationError } from '../../errors/queue-declaration.error';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { ExchangeDeclaration, QueueDeclaration } from '../broker.interface';
import type { BrokerLogger } from '../broker-logger';
import { closeQuietly } from './amqp-channel-errors';
import { bindExchangeOn, declareExchangeOn, declareQueueOn } from './declare-topology';

/** An exchange-to-exchange binding to replay. */
interface ExchangeBindingDeclaration {
  destination: string;
  source: string;
  routingKey: string;
}

/**
 * The queues, exchanges and exchange-to-exchange bindings this broker declared, so they can be
 * declared again after a reconnect (an auto-delete or non-durable queue does not survive a broker
 * restart). kombu re-declares its entities on reconnect the same way.
 */
export class DeclarationRegistry {
  private readonly queues = new Map<string, QueueDeclaration>();
  private readonly exchanges = new Map<string, ExchangeDeclaration>();
  private readonly exchangeBindings = new Map<string, ExchangeBindingDeclaration>();

  /** Adds a queue (with its binding) to what is replayed. */
  rememberQueue(queue: QueueDeclaration): void {
    // One entry per binding: the same queue may be bound under several keys.
    this.queues.set(`${queue.name}\u0000${queue.exchange?.name ?? ''}\u0000${queue.routingKey ?? ''}`, queue);
  }

  /** Adds a lone exchange to what is replayed. */
  rememberExchange(exchange: ExchangeDeclaration): void {
    this.exchanges.set(exchange.name, exchange);
  }

  /** Adds an exchange-to-exchange binding to what is replayed (after the exchanges and queues). */
  rememberExchangeBinding(destination: string, source: string, routingKey: string): void {
    this.exchangeBindings.set(`${destination}\u0000${source}\u0000${routingKey}`, { destination, source, routingKey });
  }

  /**
   * Declares everything again on `connection`. A declaration RabbitMQ now refuses is logged and
   * skipped (someone changed the queue meanwhile); the others still go through.
   */
  async replay(connection: ChannelModel, logger: BrokerLogger): Promise<void> {
    if (this.queues.size === 0 && this.exchanges.size === 0 && this.exchangeBindings.size === 0) return;
    let channel = await openChannel(connection);
    const declarations: Array<(on: Channel) => Promise<void>> = [
      ...[...this.exchanges.values()].map((exchange) => (on: Channel) => declareExchangeOn(on, exchange)),
      ...[...this.queues.values()].map((queue) => (on: Channel) => declareQueueOn(on, queue)),
      ...[...this.exchangeBindings.values()].map(({ destination, source, routingKey }) => (on: Channel) => bindExchangeOn(on, destination, source, routingKey)),
    ];
    try {
      for (const declare of declarations) {
        try {
          await declare(channel);
        } catch (error) {
          if (!(error instanceof QueueDeclarationError)) throw error;
          logger.error(`Re-declaring after reconnect failed: ${maskSecretsInText(error.message)}`);
          // RabbitMQ closed that channel; carry on with the rest on a new one.
          channel = await openChannel(connection);
        }
      }
    } finally {
      await closeQuietly(channel);
    }
  }
}

async function openChannel(connection: ChannelModel): Promise<Channel> {
  const channel = await connection.createChannel();
  // Without a listener, a channel error would be thrown as an uncaught 'error' event.
  channel.on('error', () => undefined);
  return channel;
}

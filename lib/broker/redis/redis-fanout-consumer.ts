import type { Redis } from 'ioredis';
import type { BrokerLogger } from '../broker-logger';
import type { Consumer, DeliveredMessage } from '../broker.interface';
import { parseKombuEnvelope } from './kombu-envelope';
import { closeConnection } from './redis-connection';
import { fanoutChannel } from './kombu-redis-keys';
import { RedisDeliveredMessage } from './redis-delivered-message';

/** A queue bound to a fanout exchange: what it subscribes to. */
export interface FanoutSubscription {
  queue: string;
  exchange: string;
  routingKey: string;
}

/**
 * Consumes queues bound to fanout exchanges (Celery's remote control `celery.pidbox` and, on
 * Redis, its events exchange `celeryev`): kombu does not store those messages, it PUBLISHes them
 * on a channel and each consumer PSUBSCRIBEs (`_subscribe`), so only consumers connected at the
 * time receive them, and there is nothing to ack (kombu consumes them with no_ack).
 */
export class RedisFanoutConsumer implements Consumer {
  private readonly queueByPattern = new Map<string, string>();
  private readonly ready: Promise<unknown>;

  constructor(
    private readonly subscriber: Redis,
    db: number,
    subscriptions: readonly FanoutSubscription[],
    onMessage: (message: DeliveredMessage) => void,
    logger: BrokerLogger,
  ) {
    for (const { queue, exchange, routingKey } of subscriptions) {
      this.queueByPattern.set(fanoutChannel(db, exchange, routingKey.replace(/#/g, '*')), queue);
    }
    const settlement = { ack: () => undefined, reject: () => undefined };
    subscriber.on('pmessage', (pattern: string, channel: string, data: string) => {
      const queue = this.queueByPattern.get(pattern);
      if (queue === undefined) return;
      try {
        onMessage(new RedisDeliveredMessage(parseKombuEnvelope(data), queue, settlement));
      } catch (error) {
        logger.error(`Dropped a message on Redis channel "${channel}": ${(error as Error).message}`);
      }
    });
    this.ready = subscriber.psubscribe(...this.queueByPattern.keys());
  }

  /** Resolves once Redis confirmed the subscriptions: broadcasts sent after it are received. */
  subscribed(): Promise<unknown> {
    return this.ready;
  }

  async cancel(): Promise<void> {
    await closeConnection(this.subscriber);
  }

  async setPrefetch(): Promise<void> {
    // Broadcasts are not counted against a prefetch window, in kombu as here.
  }
}

import type { Redis } from 'ioredis';
import type { BrokerLogger } from '../broker-logger';
import type { DeliveredMessage } from '../broker.interface';
import { parseKombuEnvelope } from '../kombu-envelope';
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
export class RedisFanoutConsumer {
  private readonly queueByPattern = new Map<string, string>();
  private readonly ready: Promise<unknown>;

  constructor(
    private readonly subscriber: Redis,
    private readonly db: number,
    subscriptions: readonly FanoutSubscription[],
    onMessage: (message: DeliveredMessage) => void,
    logger: BrokerLogger,
  ) {
    for (const subscription of subscriptions) this.queueByPattern.set(this.patternOf(subscription), subscription.queue);
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

  /** Subscribes one more queue; resolves once Redis confirmed it. */
  async subscribe(subscription: FanoutSubscription): Promise<void> {
    const pattern = this.patternOf(subscription);
    this.queueByPattern.set(pattern, subscription.queue);
    await this.subscriber.psubscribe(pattern);
  }

  /** Stops receiving the queue's broadcasts. */
  async unsubscribe(queue: string): Promise<void> {
    const patterns = [...this.queueByPattern].filter(([, subscribed]) => subscribed === queue).map(([pattern]) => pattern);
    for (const pattern of patterns) this.queueByPattern.delete(pattern);
    if (patterns.length > 0) await this.subscriber.punsubscribe(...patterns);
  }

  /** Whether the queue is subscribed. */
  has(queue: string): boolean {
    return [...this.queueByPattern.values()].includes(queue);
  }

  async cancel(): Promise<void> {
    await closeConnection(this.subscriber);
  }

  private patternOf({ exchange, routingKey }: FanoutSubscription): string {
    return fanoutChannel(this.db, exchange, routingKey.replace(/#/g, '*'));
  }
}

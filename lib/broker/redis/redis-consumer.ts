import type { Consumer, DeliveredMessage, QueueDeclaration } from '../broker.interface';
import type { FanoutSubscription, RedisFanoutConsumer } from './redis-fanout-consumer';
import type { RedisListConsumer } from './redis-list-consumer';

/** A consumer on a connection of its own, and how to stop it and drop that connection. */
export interface OpenedConsumer<C> {
  consumer: C;
  close(): Promise<void>;
}

/** What a RedisConsumer needs from its RedisBroker. */
export interface RedisConsumerHost {
  /** Records the queue's binding as kombu's `queue_bind` does (RedisBroker.declareQueue). */
  declareQueue(queue: QueueDeclaration): Promise<void>;
  /** For a declared queue bound to a fanout exchange: what to subscribe to; undefined for a list queue. */
  fanoutSubscription(queue: string): FanoutSubscription | undefined;
  openListConsumer(queues: string[], prefetch: number, onMessage: (message: DeliveredMessage) => void): OpenedConsumer<RedisListConsumer>;
  /** Resolves once Redis confirmed the subscriptions. */
  openFanoutConsumer(subscriptions: FanoutSubscription[], onMessage: (message: DeliveredMessage) => void): Promise<OpenedConsumer<RedisFanoutConsumer>>;
}

/**
 * One Consumer over both kinds of Redis queues, as a kombu channel consumes both: task queues are
 * lists read with BRPOP (RedisListConsumer), queues bound to a fanout exchange are pub/sub
 * subscriptions (RedisFanoutConsumer). Each kind gets its connection when it first has a queue,
 * at start or through addQueue().
 */
export class RedisConsumer implements Consumer {
  private lists: OpenedConsumer<RedisListConsumer> | undefined;
  private fanout: Promise<OpenedConsumer<RedisFanoutConsumer>> | undefined;
  private readonly listQueues = new Set<string>();
  private cancelled = false;

  constructor(
    private readonly host: RedisConsumerHost,
    private prefetch: number,
    private readonly onMessage: (message: DeliveredMessage) => void,
  ) {}

  /** Declares the queues and consumes them together: the first BRPOP already covers every list, band by band. */
  async start(queues: readonly QueueDeclaration[]): Promise<void> {
    const lists: string[] = [];
    const subscriptions: FanoutSubscription[] = [];
    for (const queue of queues) {
      await this.host.declareQueue(queue);
      const subscription = this.host.fanoutSubscription(queue.name);
      if (subscription) subscriptions.push(subscription);
      else lists.push(queue.name);
    }
    if (lists.length > 0) this.consumeLists(lists);
    if (subscriptions.length > 0) await this.subscribe(subscriptions);
  }

  async addQueue(queue: QueueDeclaration): Promise<void> {
    if (this.cancelled || this.listQueues.has(queue.name)) return;
    await this.host.declareQueue(queue);
    const subscription = this.host.fanoutSubscription(queue.name);
    if (subscription) await this.subscribe([subscription]);
    else this.consumeLists([queue.name]);
  }

  async cancelQueue(name: string): Promise<void> {
    if (this.listQueues.delete(name)) this.lists?.consumer.cancelQueue(name);
    else await (await this.fanout)?.consumer.unsubscribe(name);
  }

  async setPrefetch(count: number): Promise<void> {
    // Broadcasts are not counted against a prefetch window, in kombu as here.
    this.prefetch = count;
    await this.lists?.consumer.setPrefetch(count);
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    await Promise.all([this.lists?.close(), this.fanout?.then((fanout) => fanout.close(), () => undefined)]);
  }

  private consumeLists(queues: string[]): void {
    for (const queue of queues) this.listQueues.add(queue);
    if (this.lists) for (const queue of queues) this.lists.consumer.addQueue(queue);
    else this.lists = this.host.openListConsumer(queues, this.prefetch, this.onMessage);
  }

  private async subscribe(subscriptions: FanoutSubscription[]): Promise<void> {
    if (!this.fanout) {
      const opening = this.host.openFanoutConsumer(subscriptions, this.onMessage);
      this.fanout = opening;
      try {
        await opening;
      } catch (error) {
        if (this.fanout === opening) this.fanout = undefined; // the next addQueue() tries again
        throw error;
      }
      return;
    }
    const fanout = await this.fanout;
    for (const subscription of subscriptions) if (!fanout.consumer.has(subscription.queue)) await fanout.consumer.subscribe(subscription);
  }
}

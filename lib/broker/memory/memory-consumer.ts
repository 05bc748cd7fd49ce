import { InFlightSet } from '../../utils/in-flight-set';
import { maskSecretsInText } from '../../utils/mask-secrets';
import type { Consumer, DeliveredMessage, QueueDeclaration } from '../broker.interface';
import type { BrokerLogger } from '../broker-logger';
import { MemoryDeliveredMessage, type SettlementTarget } from './memory-delivered-message';
import type { MemoryQueue, QueueSubscriber } from './memory-queue';
import type { StoredMessage } from './stored-message';
import type { MemoryVirtualHost } from './memory-virtual-host';

/**
 * An in-process consumer of one or more queues, with one prefetch window over all of them (as
 * Celery's channel-wide basic.qos): at most `prefetch` unsettled messages at once, 0 = no limit.
 */
export class MemoryConsumer implements Consumer, QueueSubscriber, SettlementTarget {
  /**
   * Messages delivered and not settled, each holding its own entry (MemoryDeliveredMessage.unsettled).
   * An InFlightSet, not a Set: one added and deleted per message would chain V8's obsolete hash
   * tables, and every message they held, into old space (lib/utils/in-flight-set.ts).
   */
  private readonly unsettled = new InFlightSet<MemoryDeliveredMessage>();
  /** The queues consumed now, by name (addQueue and cancelQueue change them). */
  private readonly queues = new Map<string, MemoryQueue>();
  private active = true;

  constructor(
    private readonly virtualHost: MemoryVirtualHost,
    queues: readonly MemoryQueue[],
    private prefetch: number,
    private readonly onMessage: (message: DeliveredMessage) => void,
    private readonly logger: BrokerLogger,
    private readonly onGone: (consumer: MemoryConsumer) => void,
  ) {
    for (const queue of queues) this.queues.set(queue.name, queue);
  }

  /** Subscribes to every queue; deliveries start in a later tick. */
  start(): void {
    for (const queue of this.queues.values()) this.virtualHost.subscribe(queue, this);
  }

  /** Declares the queue (RabbitMQ's re-declaration rules apply) and subscribes to it. */
  async addQueue(declaration: QueueDeclaration): Promise<void> {
    if (!this.active || this.queues.has(declaration.name)) return;
    const queue = this.virtualHost.declareQueue(declaration);
    this.queues.set(queue.name, queue);
    this.virtualHost.subscribe(queue, this);
  }

  /** Unsubscribes from the queue; its unsettled messages stay this consumer's to settle. */
  async cancelQueue(name: string): Promise<void> {
    const queue = this.queues.get(name);
    if (!queue) return;
    this.queues.delete(name);
    if (this.active) this.virtualHost.unsubscribe(queue, this);
  }

  hasCapacity(): boolean {
    return this.active && (this.prefetch === 0 || this.unsettled.size < this.prefetch);
  }

  deliver(message: StoredMessage, queue: MemoryQueue): void {
    const delivered = new MemoryDeliveredMessage(message, queue, this);
    delivered.unsettled = this.unsettled.add(delivered);
    try {
      this.onMessage(delivered);
    } catch (error) {
      this.logger.error(
        `The message handler threw for a message from queue "${queue.name}": ${maskSecretsInText(String(error))}. ` +
          `The message stays unacknowledged until the handler settles it.`,
      );
    }
  }

  ack(delivered: MemoryDeliveredMessage): void {
    this.settled(delivered);
  }

  reject(delivered: MemoryDeliveredMessage, requeue: boolean): void {
    if (requeue) this.virtualHost.requeue(delivered.queue, delivered.stored);
    else this.virtualHost.deadLetter(delivered.queue, delivered.stored, 'rejected');
    this.settled(delivered);
  }

  /** Stops deliveries; messages already delivered can still be settled. */
  async cancel(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    for (const queue of this.queues.values()) this.virtualHost.unsubscribe(queue, this);
    if (this.unsettled.size === 0) this.onGone(this);
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    if (this.active) for (const queue of this.queues.values()) this.virtualHost.markPending(queue);
  }

  /** Broker shutdown: like an AMQP channel closing, unsettled messages go back to their queues as redelivered. */
  async close(): Promise<void> {
    await this.cancel();
    for (const delivered of this.unsettled.values()) {
      if (delivered.unsettled) this.unsettled.delete(delivered.unsettled);
      if (delivered.abandon()) this.virtualHost.requeue(delivered.queue, delivered.stored);
    }
    this.onGone(this);
  }

  private settled(delivered: MemoryDeliveredMessage): void {
    if (!delivered.unsettled || !this.unsettled.delete(delivered.unsettled)) return;
    if (this.active) {
      // A slot in the prefetch window is free again.
      for (const queue of this.queues.values()) this.virtualHost.markPending(queue);
    } else if (this.unsettled.size === 0) {
      this.onGone(this);
    }
  }
}

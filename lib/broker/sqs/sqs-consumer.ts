import { InFlightSet } from '../../utils/in-flight-set';
import type { BrokerLogger } from '../broker-logger';
import type { ConsumeOptions, Consumer, DeliveredMessage, QueueDeclaration } from '../broker.interface';
import type { SqsQueue } from './sqs-queue-directory';
import { SqsQueuePoller } from './sqs-queue-poller';
import type { SqsApi } from './sqs-api';
import { SqsDeliveredMessage, type SqsSettlement } from './sqs-delivered-message';

/** SQS returns at most ten messages per ReceiveMessage (kombu's SQS_MAX_MESSAGES). */
export const SQS_MAX_MESSAGES = 10;

/** What an SqsConsumer needs from its broker. */
export interface SqsConsumerHost {
  readonly api: SqsApi;
  readonly logger: BrokerLogger;
  readonly waitTimeSeconds: number;
  readonly pollingIntervalMs: number;
  /** Declares the queue (refusing what SQS cannot do) and finds or creates it on SQS. */
  declare(queue: QueueDeclaration): Promise<SqsQueue>;
  /** A call to SQS succeeded or failed: for isConnected and the connection events. */
  reportHealth(error?: unknown): void;
}

/**
 * Consumes SQS queues, one long-polling loop per queue (kombu cycles through them one at a time;
 * a loop each keeps an empty queue's 10-second wait from delaying the others), under one prefetch
 * window: together the loops never hold more than `prefetch` unsettled messages, each asking for
 * its share. Ack deletes the message; a message neither acked nor rejected comes back to the queue
 * when its visibility timeout ends, as it does for kombu.
 */
export class SqsConsumer implements Consumer, SqsSettlement {
  private readonly pollers = new Map<string, SqsQueuePoller>();
  /**
   * Messages delivered and not settled, each holding its own entry (SqsDeliveredMessage.unsettled).
   * An InFlightSet, and an array of slot waiters, not a Set: one added and deleted per message
   * would chain V8's obsolete hash tables, and every message they held, into old space
   * (lib/utils/in-flight-set.ts; docs/PERFORMANCE.md, "Memory").
   */
  private readonly unsettled = new InFlightSet<SqsDeliveredMessage>();
  /** Slots asked for by receives still in flight: they count against the window too. */
  private reserved = 0;
  private prefetch: number;
  private readonly onMessage: (message: DeliveredMessage) => void;
  private slotWaiters: (() => void)[] = [];
  private cancelled = false;

  constructor(
    private readonly host: SqsConsumerHost,
    options: Pick<ConsumeOptions, 'prefetch' | 'onMessage'>,
  ) {
    this.prefetch = options.prefetch;
    this.onMessage = options.onMessage;
  }

  /** Messages delivered and not yet settled (given back at close, as kombu's `restore_at_shutdown`). */
  get unsettledMessages(): SqsDeliveredMessage[] {
    return this.unsettled.values();
  }

  async start(queues: QueueDeclaration[]): Promise<void> {
    for (const queue of queues) await this.addQueue(queue);
  }

  async addQueue(declaration: QueueDeclaration): Promise<void> {
    if (this.cancelled || this.pollers.has(declaration.name)) return;
    const queue = await this.host.declare(declaration);
    if (this.pollers.has(declaration.name)) return;
    this.pollers.set(declaration.name, new SqsQueuePoller(queue, this.host, this));
  }

  async cancelQueue(name: string): Promise<void> {
    const poller = this.pollers.get(name);
    if (!poller) return;
    this.pollers.delete(name);
    await poller.stop();
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    const pollers = [...this.pollers.values()];
    this.pollers.clear();
    this.wakeSlotWaiters();
    await Promise.all(pollers.map((poller) => poller.stop()));
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    this.wakeSlotWaiters();
  }

  /**
   * How many messages a queue's loop may ask for now: its share of the free window (at least 1,
   * at most 10), reserved until `release`. Waits while the window is full; 0 once cancelled.
   */
  async reserve(stopped: () => boolean): Promise<number> {
    for (;;) {
      if (this.cancelled || stopped()) return 0;
      const share = this.share();
      if (share > 0) {
        this.reserved += share;
        return share;
      }
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  /** Gives back reserved slots a receive did not fill. */
  release(slots: number): void {
    if (slots <= 0) return;
    this.reserved -= slots;
    this.wakeSlotWaiters();
  }

  /** A received message takes its reserved slot and goes to the handler. */
  deliver(message: SqsDeliveredMessage): void {
    this.reserved -= 1;
    message.unsettled = this.unsettled.add(message);
    this.onMessage(message);
  }

  ack(message: SqsDeliveredMessage): void {
    this.settle(message);
    this.host.api.delete(message.queue.url, message.receiptHandle).then(
      () => this.host.reportHealth(),
      (error: Error) => this.host.logger.warn(`Could not delete an acknowledged message from SQS queue "${message.queue.sqsName}": ${error.message}; it will be delivered again after its visibility timeout`),
    );
  }

  reject(message: SqsDeliveredMessage, requeue: boolean): void {
    this.settle(message);
    const settled = requeue ? this.host.api.changeVisibility(message.queue.url, message.receiptHandle, 0) : this.host.api.delete(message.queue.url, message.receiptHandle);
    settled.catch((error: Error) => this.host.logger.warn(`Could not ${requeue ? 'give back' : 'drop'} a rejected message on SQS queue "${message.queue.sqsName}": ${error.message}; it will be delivered again after its visibility timeout`));
  }

  private settle(message: SqsDeliveredMessage): void {
    if (message.unsettled && this.unsettled.delete(message.unsettled)) this.wakeSlotWaiters();
  }

  private share(): number {
    if (this.prefetch <= 0) return SQS_MAX_MESSAGES; // no window: as many as SQS gives
    const free = this.prefetch - this.unsettled.size - this.reserved;
    if (free <= 0) return 0;
    const fairShare = Math.ceil(this.prefetch / Math.max(1, this.pollers.size));
    return Math.min(SQS_MAX_MESSAGES, free, fairShare);
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }
}

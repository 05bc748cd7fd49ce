import type { QueueDeclaration } from '../broker.interface';
import { MessageDeque } from './message-deque';
import type { StoredMessage } from './stored-message';

/** What a queue needs from a consumer to hand it messages. */
export interface QueueSubscriber {
  /** False while the consumer holds `prefetch` unacknowledged messages. */
  hasCapacity(): boolean;
  deliver(message: StoredMessage, queue: MemoryQueue): void;
}

/**
 * An in-process queue: messages in priority order (FIFO within a priority), and its subscribers,
 * served round-robin. Without x-max-priority every message has priority 0, as in RabbitMQ.
 */
export class MemoryQueue {
  /** One FIFO per priority level, 0 … x-max-priority. */
  private readonly levels: MessageDeque<StoredMessage>[];
  private readonly subscribers: QueueSubscriber[] = [];
  private nextSubscriber = 0;
  private hadSubscribers = false;
  private messageCount = 0;

  constructor(readonly declaration: QueueDeclaration) {
    const maxPriority = declaration.arguments['x-max-priority'];
    const levels = typeof maxPriority === 'number' && maxPriority > 0 ? Math.min(Math.trunc(maxPriority), 255) + 1 : 1;
    this.levels = Array.from({ length: levels }, () => new MessageDeque<StoredMessage>());
  }

  get name(): string {
    return this.declaration.name;
  }

  get size(): number {
    return this.messageCount;
  }

  /** Milliseconds from `x-message-ttl`, if the queue has one. */
  get messageTtlMs(): number | undefined {
    const ttl = this.declaration.arguments['x-message-ttl'];
    return typeof ttl === 'number' ? ttl : undefined;
  }

  /** Adds a new message at the tail of its priority level. */
  enqueue(message: StoredMessage): void {
    this.levelOf(message).push(message);
    this.messageCount += 1;
  }

  /** Puts a message back at the head of its priority level (basic.reject with requeue). */
  requeue(message: StoredMessage): void {
    this.levelOf(message).unshift(message);
    this.messageCount += 1;
  }

  /**
   * The next message to deliver (highest priority first). Messages whose TTL has passed are
   * handed to `onExpired` and skipped: RabbitMQ also expires messages when they reach the head.
   */
  takeNext(now: number, onExpired: (message: StoredMessage) => void): StoredMessage | undefined {
    for (let level = this.levels.length - 1; level >= 0; level -= 1) {
      const deque = this.levels[level];
      for (let message = deque.shift(); message; message = deque.shift()) {
        this.messageCount -= 1;
        if (message.expiresAt !== undefined && message.expiresAt <= now) onExpired(message);
        else return message;
      }
    }
    return undefined;
  }

  /**
   * Hands the messages at the head whose TTL has passed to `onExpired` (RabbitMQ expires at the
   * head), and returns when the next head message expires, or Infinity.
   */
  expireHead(now: number, onExpired: (message: StoredMessage) => void): number {
    let next = Infinity;
    for (const deque of this.levels) {
      for (let head = deque.peek(); head?.expiresAt !== undefined; head = deque.peek()) {
        if (head.expiresAt > now) {
          next = Math.min(next, head.expiresAt);
          break;
        }
        deque.shift();
        this.messageCount -= 1;
        onExpired(head);
      }
    }
    return next;
  }

  /** Adds a consumer; it gets its turn in the round-robin. */
  subscribe(subscriber: QueueSubscriber): void {
    this.subscribers.push(subscriber);
    this.hadSubscribers = true;
  }

  /** Returns true when this was the last subscriber of an auto-delete queue, which must now go. */
  unsubscribe(subscriber: QueueSubscriber): boolean {
    const index = this.subscribers.indexOf(subscriber);
    if (index >= 0) this.subscribers.splice(index, 1);
    return this.declaration.autoDelete && this.hadSubscribers && this.subscribers.length === 0;
  }

  /** The next subscriber with room for a message, round-robin; undefined if all are full. */
  nextSubscriberWithCapacity(): QueueSubscriber | undefined {
    const count = this.subscribers.length;
    for (let offset = 0; offset < count; offset += 1) {
      const index = (this.nextSubscriber + offset) % count;
      const subscriber = this.subscribers[index];
      if (subscriber.hasCapacity()) {
        this.nextSubscriber = index + 1;
        return subscriber;
      }
    }
    return undefined;
  }

  /** Everything still queued, for deletion. */
  removeAll(): StoredMessage[] {
    this.messageCount = 0;
    return this.levels.flatMap((level) => level.drain());
  }

  private levelOf(message: StoredMessage): MessageDeque<StoredMessage> {
    const top = this.levels.length - 1;
    if (top === 0) return this.levels[0];
    const priority = message.properties.priority ?? 0;
    return this.levels[Math.max(0, Math.min(top, Math.trunc(priority)))];
  }
}

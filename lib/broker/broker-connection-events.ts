import type { BrokerEvents } from './broker.interface';

/**
 * Hands the broker's connection events to every subscriber (metrics today, anything else that
 * watches the connection later): the broker takes one `events` object, fixed when it is created,
 * before the subscribers exist.
 */
export class BrokerConnectionEvents implements BrokerEvents {
  private readonly subscribers = new Set<BrokerEvents>();

  /** Returns the function that unsubscribes. */
  subscribe(subscriber: BrokerEvents): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  connected(): void {
    for (const subscriber of this.subscribers) subscriber.connected?.();
  }

  disconnected(reason: string): void {
    for (const subscriber of this.subscribers) subscriber.disconnected?.(reason);
  }
}

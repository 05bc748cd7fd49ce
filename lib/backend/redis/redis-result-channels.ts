import type { Redis } from 'ioredis';
import type { TaskResultMeta } from '../../protocol/result-meta';
import type { ResultChangeSource, ResultWatch } from '../result-change-source';
import { decodeRedisResultMeta, taskKey } from './redis-result-meta';

/** A channel nobody waited on for this long is unsubscribed. */
const IDLE_UNSUBSCRIBE_MS = 60_000;

/** One channel's SUBSCRIBE and the watches listening on it. */
interface Subscription {
  /** Settles with the SUBSCRIBE's reply: from then on every PUBLISH on the channel reaches the watches. */
  readonly subscribed: Promise<void>;
  active: boolean;
  readonly watches: Set<ChannelWatch>;
  lastUsed: number;
}

/**
 * Pushes result writes to waiting `get()` calls, as Celery's Redis `ResultConsumer` does: a
 * SUBSCRIBE on the result key's channel, where the worker (ours or Python's) PUBLISHes each state
 * it stores, the same JSON as the SET. A watch is opened before the wait's first read, so the
 * SUBSCRIBE and that read share one round trip; the published meta is the state itself (Celery's
 * `on_state_change(meta)` uses it so too), so a wait ends on the PUBLISH of a ready state with no
 * further read. Channels stay subscribed while used, and are unsubscribed once idle.
 */
export class RedisResultChannels implements ResultChangeSource {
  /**
   * A Map although a Map's churn chains its obsolete tables into old space (lib/utils/in-flight-set.ts):
   * here a channel is deleted only by the idle sweep, so the tables are replaced as it grows (a few
   * times, not every few tasks) and hold Subscriptions that are kept for a minute anyway, small once
   * their watches closed. Each `watches` Set lives and dies with its one task.
   */
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly subscriber: Redis) {
    subscriber.on('message', (channel: string, payload: string) => {
      const subscription = this.subscriptions.get(channel);
      if (!subscription) return;
      for (const watch of subscription.watches) watch.deliver(payload);
    });
    this.sweeper = setInterval(() => void this.unsubscribeIdle(), IDLE_UNSUBSCRIBE_MS);
    this.sweeper.unref();
  }

  /** Listens to the task's channel from now on (subscribing when nobody does yet) until close(). */
  watch(taskId: string): ResultWatch {
    const channel = taskKey(taskId);
    const subscription = this.subscription(channel);
    const watch = new ChannelWatch(taskId, subscription, () => {
      subscription.watches.delete(watch);
      subscription.lastUsed = Date.now();
    });
    subscription.watches.add(watch);
    return watch;
  }

  /**
   * Resolves when a state is published for the task, or after `maxWaitMs`. While the channel is
   * not subscribed yet, it only subscribes and returns, so the caller reads again after the
   * subscription is active and no write can fall between its read and the subscription.
   */
  async waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    const watch = this.watch(taskId);
    try {
      await watch.next(maxWaitMs, signal);
    } finally {
      watch.close();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private subscription(channel: string): Subscription {
    const existing = this.subscriptions.get(channel);
    if (existing) {
      existing.lastUsed = Date.now();
      return existing;
    }
    const subscription: Subscription = {
      subscribed: this.subscriber.subscribe(channel).then(
        () => {
          subscription.active = true;
        },
        (error: Error) => {
          // Not subscribed: the next wait on this channel tries again.
          if (this.subscriptions.get(channel) === subscription) this.subscriptions.delete(channel);
          throw error;
        },
      ),
      active: false,
      watches: new Set(),
      lastUsed: Date.now(),
    };
    subscription.subscribed.catch(() => undefined); // rethrown to the waits that await it
    this.subscriptions.set(channel, subscription);
    return subscription;
  }

  private async unsubscribeIdle(): Promise<void> {
    const cutoff = Date.now() - IDLE_UNSUBSCRIBE_MS;
    const idle: string[] = [];
    for (const [channel, subscription] of this.subscriptions) {
      if (subscription.lastUsed < cutoff && subscription.watches.size === 0 && subscription.active) idle.push(channel);
    }
    if (idle.length === 0) return;
    for (const channel of idle) this.subscriptions.delete(channel);
    await this.subscriber.unsubscribe(...idle).catch(() => undefined);
  }
}

/** The states published on one channel since the watch was opened, handed to one wait in order. */
class ChannelWatch implements ResultWatch {
  private readonly published: string[] = [];
  private wake: (() => void) | null = null;
  /**
   * False until the wait has read (or been handed a state) after the SUBSCRIBE took effect. A
   * watch opened on an active subscription starts true: its first read came after it.
   */
  private seesEveryStore: boolean;

  constructor(
    private readonly taskId: string,
    private readonly subscription: Subscription,
    readonly close: () => void,
  ) {
    this.seesEveryStore = subscription.active;
  }

  deliver(payload: string): void {
    this.published.push(payload);
    this.wake?.();
  }

  async next(maxWaitMs: number, signal?: AbortSignal): Promise<TaskResultMeta | undefined> {
    signal?.throwIfAborted();
    if (this.published.length === 0) {
      // Before the SUBSCRIBE took effect, its reply ends the pause: the caller must read once more.
      await this.pause(this.seesEveryStore ? null : this.subscription.subscribed, maxWaitMs, signal);
    }
    const payload = this.published.shift();
    if (payload !== undefined) {
      // Published after the SUBSCRIBE: every later store will be published here too.
      this.seesEveryStore = true;
      return this.decode(payload);
    }
    // Subscribed now (or the pause ran out): the caller's next read closes the gap.
    if (this.subscription.active) this.seesEveryStore = true;
    return undefined;
  }

  /** Waits for `until` (its rejection is thrown), a published state, `maxWaitMs`, or the signal's abort. */
  private async pause(until: Promise<void> | null, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        until ?? new Promise<void>(() => undefined),
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, maxWaitMs);
        }),
        new Promise<void>((_resolve, reject) => {
          onAbort = () => reject(signal!.reason);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.wake = null;
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A payload that is not Celery result meta is not trusted: the caller reads the key instead. */
  private decode(payload: string): TaskResultMeta | undefined {
    try {
      return decodeRedisResultMeta(this.taskId, payload);
    } catch {
      return undefined;
    }
  }
}

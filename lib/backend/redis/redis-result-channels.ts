import type { Redis } from 'ioredis';
import type { ResultChangeSource } from '../result-change-source';
import { sleep } from '../result-change-source';
import { taskKey } from './redis-result-meta';

/** A channel nobody waited on for this long is unsubscribed. */
const IDLE_UNSUBSCRIBE_MS = 60_000;

/**
 * Pushes result writes to waiting `get()` calls, as Celery's Redis `ResultConsumer` does: a
 * SUBSCRIBE on the result key's channel (the worker PUBLISHes each state there as it stores it).
 * The first wait on a task only subscribes and returns at once, so the caller reads again after
 * the subscription is active and no write can fall between its read and the subscription.
 */
export class RedisResultChannels implements ResultChangeSource {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly lastUsed = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly subscriber: Redis) {
    subscriber.on('message', (channel: string) => {
      const waiting = this.waiters.get(channel);
      if (!waiting) return;
      this.waiters.delete(channel);
      for (const wake of waiting) wake();
    });
    this.sweeper = setInterval(() => void this.unsubscribeIdle(), IDLE_UNSUBSCRIBE_MS);
    this.sweeper.unref();
  }

  async waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    const channel = taskKey(taskId);
    const subscribed = this.lastUsed.has(channel);
    this.lastUsed.set(channel, Date.now());
    if (!subscribed) {
      await this.subscriber.subscribe(channel);
      return;
    }
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const waiting = this.waiters.get(channel) ?? new Set();
    waiting.add(wake);
    this.waiters.set(channel, waiting);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The pause ends quietly when cut short; an abort of the caller's signal is rethrown below.
      await Promise.race([woken, sleep(maxWaitMs, controller.signal).catch(() => undefined)]);
    } finally {
      controller.abort();
      signal?.removeEventListener('abort', onAbort);
      waiting.delete(wake);
      this.lastUsed.set(channel, Date.now());
      if (signal?.aborted) throw signal.reason;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private async unsubscribeIdle(): Promise<void> {
    const cutoff = Date.now() - IDLE_UNSUBSCRIBE_MS;
    const idle = [...this.lastUsed].filter(([channel, at]) => at < cutoff && !this.waiters.get(channel)?.size).map(([channel]) => channel);
    if (idle.length === 0) return;
    for (const channel of idle) this.lastUsed.delete(channel);
    await this.subscriber.unsubscribe(...idle).catch(() => undefined);
  }
}

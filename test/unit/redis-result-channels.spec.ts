import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { RedisResultChannels } from '../../lib/backend/redis/redis-result-channels';
import { encodeRedisResultMeta, taskKey } from '../../lib/backend/redis/redis-result-meta';
import { waitForReadyResult } from '../../lib/backend/wait-for-ready-result';
import { TaskResultMeta } from '../../lib/protocol/result-meta';

const BACKOFF = { initialDelayMs: 60_000, maxDelayMs: 60_000 }; // no safety-net read within a test

function stored(status: string, result: unknown = null): TaskResultMeta {
  return { taskId: 't', status, result, traceback: null, children: [], dateDone: null };
}

/** A subscriber whose SUBSCRIBE replies when the test says so, and a Redis key the test writes. */
function fakeRedis() {
  const subscriber = Object.assign(new EventEmitter(), {
    subscribed: [] as string[],
    replies: [] as (() => void)[],
    subscribe(channel: string) {
      subscriber.subscribed.push(channel);
      return new Promise<void>((resolve) => subscriber.replies.push(resolve));
    },
    unsubscribe: async () => undefined,
  });
  const key = { value: null as TaskResultMeta | null, reads: 0 };
  const read = async () => {
    key.reads += 1;
    return key.value;
  };
  const publish = (meta: TaskResultMeta) => subscriber.emit('message', taskKey('t'), encodeRedisResultMeta(meta, false));
  const channels = new RedisResultChannels(subscriber as unknown as Redis);
  return { subscriber, key, read, publish, channels };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('RedisResultChannels', () => {
  it('reads once more after the SUBSCRIBE took effect: a store between the first read and it is not missed', async () => {
    const { subscriber, key, read, channels } = fakeRedis();
    const waiting = waitForReadyResult('t', read, channels, BACKOFF);
    await tick();
    expect(subscriber.subscribed).toEqual([taskKey('t')]); // sent beside the first read
    expect(key.reads).toBe(1);
    key.value = stored('SUCCESS', 42); // stored, and published before anyone listened
    subscriber.replies[0]();
    expect((await waiting).result).toBe(42);
    expect(key.reads).toBe(2);
    await channels.close();
  });

  it('ends on a published ready state without reading, passing over the states before it', async () => {
    const { subscriber, key, read, publish, channels } = fakeRedis();
    const waiting = waitForReadyResult('t', read, channels, BACKOFF);
    await tick();
    subscriber.replies[0]();
    await tick();
    expect(key.reads).toBe(2);
    publish(stored('STARTED'));
    publish(stored('SUCCESS', 'pushed'));
    expect((await waiting).result).toBe('pushed');
    expect(key.reads).toBe(2);
    await channels.close();
  });

  it('keeps a state published the moment the SUBSCRIBE replies, before its promise settles', async () => {
    const { subscriber, key, read, publish, channels } = fakeRedis();
    const waiting = waitForReadyResult('t', read, channels, BACKOFF);
    await tick();
    subscriber.replies[0]();
    publish(stored('SUCCESS', 'early')); // same socket read as the reply: emitted before any then()
    expect((await waiting).result).toBe('early');
    expect(key.reads).toBeLessThanOrEqual(2);
    await channels.close();
  });

  it('subscribes once for several waits, and a second wait on a subscribed channel needs one read', async () => {
    const { subscriber, key, read, publish, channels } = fakeRedis();
    const first = waitForReadyResult('t', read, channels, BACKOFF);
    await tick();
    subscriber.replies[0]();
    await tick();
    const readsBefore = key.reads;
    const second = waitForReadyResult('t', read, channels, BACKOFF);
    await tick();
    expect(key.reads - readsBefore).toBe(1);
    expect(subscriber.subscribed).toHaveLength(1);
    publish(stored('SUCCESS', 'one'));
    expect((await Promise.all([first, second])).map((meta) => meta.result)).toEqual(['one', 'one']);
    await channels.close();
  });

  it('rejects a wait with the SUBSCRIBE error, and subscribes again on the next wait', async () => {
    const subscriber = Object.assign(new EventEmitter(), { calls: 0, subscribe: async () => ((subscriber.calls += 1), Promise.reject(new Error('connection closed'))) });
    const channels = new RedisResultChannels(subscriber as unknown as Redis);
    await expect(waitForReadyResult('t', async () => null, channels, BACKOFF)).rejects.toThrow('connection closed');
    await expect(waitForReadyResult('t', async () => null, channels, BACKOFF)).rejects.toThrow('connection closed');
    expect(subscriber.calls).toBe(2);
    await channels.close();
  });
});

import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { toPythonJson } from '../../protocol/python-json';
import { markRedelivered, parseKombuEnvelope, serializeKombuEnvelope } from './kombu-envelope';
import { UNACKED_INDEX_KEY, UNACKED_KEY, UNACKED_MUTEX_EXPIRE_SECONDS, UNACKED_MUTEX_KEY } from './kombu-redis-keys';

/** Finds the queues a restored message goes back to (kombu `_lookup(exchange, routing_key)`). */
export type QueueLookup = (exchange: string, routingKey: string) => Promise<string[]>;

/**
 * Moves an unacked message back to its queues only if it is still the one recorded: the check
 * and the move are one atomic step, so two restorers (or a late ack) never duplicate it. kombu
 * does the same with WATCH/MULTI, which needs a connection of its own; a script does not.
 * KEYS: unacked, unacked_index, queues…  ARGV: tag, expected entry, payload, 'left'|'right'.
 */
const RESTORE_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #KEYS do
  if ARGV[4] == 'left' then redis.call('LPUSH', KEYS[i], ARGV[3]) else redis.call('RPUSH', KEYS[i], ARGV[3]) end
end
return 1`;

/** Deletes the mutex only if we still hold it (kombu's `Mutex` checks the same under WATCH). */
const RELEASE_MUTEX_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * kombu's Redis ack emulation (`kombu.transport.redis.QoS`): a delivered message is recorded in
 * the `unacked` hash (tag → `[envelope, exchange, routing_key]`) and the `unacked_index` sorted
 * set (tag → delivery time); ack removes both; and any consumer periodically gives messages
 * unacked for longer than the visibility timeout back to their queues, under the
 * `unacked_mutex`. The hash is shared by every consumer of the database, Python or Nest, so a
 * message held by a worker that died is restored by whichever consumer runs next.
 */
export class UnackedMessages {
  constructor(
    private readonly client: Redis,
    private readonly lookup: QueueLookup,
    /** Told of a message the visibility-timeout sweep could not give back (it stays unacked, the sweep goes on). */
    private readonly onRestoreFailed: (tag: string, error: Error) => void,
  ) {}

  /**
   * Records a message just popped from a queue. The raw list entry is stored as it was read, so
   * a restore puts back exactly what the producer wrote (plus the redelivered flags).
   */
  async record(tag: string, rawEnvelope: string, exchange: string, routingKey: string): Promise<void> {
    const entry = `[${rawEnvelope}, ${toPythonJson(exchange)}, ${toPythonJson(routingKey)}]`;
    await this.client.multi().zadd(UNACKED_INDEX_KEY, Date.now() / 1000, tag).hset(UNACKED_KEY, tag, entry).exec();
  }

  async ack(tag: string): Promise<void> {
    await this.client.multi().zrem(UNACKED_INDEX_KEY, tag).hdel(UNACKED_KEY, tag).exec();
  }

  /**
   * Gives one unacked message back to its queues (kombu `restore_by_tag`), marked redelivered.
   * `leftmost` (a reject with requeue) puts it at the far end, read last; otherwise it is read
   * next. Like kombu, it goes to the queue's base list whatever its priority band was. Returns
   * false when there was nothing to restore (already acked or restored by someone else).
   */
  async restore(tag: string, leftmost = false): Promise<boolean> {
    const entry = await this.client.hget(UNACKED_KEY, tag);
    if (entry === null) {
      await this.client.zrem(UNACKED_INDEX_KEY, tag);
      return false;
    }
    const [envelope, exchange, routingKey] = JSON.parse(entry) as [unknown, string, string];
    const payload = serializeKombuEnvelope(markRedelivered(parseKombuEnvelope(JSON.stringify(envelope))));
    const queues = await this.lookup(exchange, routingKey);
    const restored = await this.client.eval(RESTORE_SCRIPT, 2 + queues.length, UNACKED_KEY, UNACKED_INDEX_KEY, ...queues, tag, entry, payload, leftmost ? 'left' : 'right');
    return restored === 1;
  }

  /**
   * Restores every message unacked for longer than `visibilityTimeoutSeconds` (kombu
   * `restore_visible`), unless another consumer holds the mutex right now. Returns how many.
   */
  async restoreVisible(visibilityTimeoutSeconds: number): Promise<number> {
    const token = randomUUID();
    const acquired = await this.client.set(UNACKED_MUTEX_KEY, token, 'EX', UNACKED_MUTEX_EXPIRE_SECONDS, 'NX');
    if (acquired !== 'OK') return 0;
    try {
      const ceiling = Date.now() / 1000 - visibilityTimeoutSeconds;
      const tags = await this.client.zrevrangebyscore(UNACKED_INDEX_KEY, ceiling, 0);
      let restored = 0;
      for (const tag of tags) {
        // One unreadable entry must not keep every older message from its queue (kombu logs and goes on too).
        try {
          if (await this.restore(tag)) restored += 1;
        } catch (error) {
          this.onRestoreFailed(tag, error as Error);
        }
      }
      return restored;
    } finally {
      await this.client.eval(RELEASE_MUTEX_SCRIPT, 1, UNACKED_MUTEX_KEY, token);
    }
  }
}

import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { toPythonJson } from '../../protocol/python-json';
import { markRedelivered, parseKombuEnvelope, serializeKombuEnvelope } from '../kombu-envelope';
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

/**
 * Takes up to ARGV[1] messages in one round trip, reading the lists in the order given (kombu's
 * BRPOP order: every queue's highest band first), and records each in `unacked` in the same
 * atomic step — so no message is ever popped without being recorded, which kombu's BRPOP then
 * record cannot promise. The entry is kombu's `[envelope, exchange, routing_key]`; an entry with
 * no readable delivery tag is returned unrecorded (the consumer drops it, as it drops it today).
 * KEYS: unacked, unacked_index, lists…  ARGV: max, now (seconds), then each list's queue name.
 * Returns list, raw, list, raw…
 */
const TAKE_BATCH_SCRIPT = `
local max = tonumber(ARGV[1])
local taken = {}
local count = 0
for i = 3, #KEYS do
  while count < max do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    count = count + 1
    local ok, message = pcall(cjson.decode, raw)
    local properties = ok and type(message) == 'table' and message.properties
    local tag = type(properties) == 'table' and properties.delivery_tag
    if type(tag) == 'string' then
      local info = type(properties.delivery_info) == 'table' and properties.delivery_info or {}
      local exchange = type(info.exchange) == 'string' and info.exchange or ''
      local routingKey = type(info.routing_key) == 'string' and info.routing_key or ARGV[i]
      redis.call('ZADD', KEYS[2], ARGV[2], tag)
      redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routingKey) .. ']')
    end
    taken[#taken + 1] = KEYS[i]
    taken[#taken + 1] = raw
  end
  if count >= max then break end
end
return taken`;

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
  /** Acks asked for in this turn of the event loop, sent together (see ack()). */
  private acks: { tags: string[]; done: Promise<void> } | null = null;

  constructor(
    private readonly client: Redis,
    private readonly lookup: QueueLookup,
    /** Told of a message the visibility-timeout sweep could not give back (it stays unacked, the sweep goes on). */
    private readonly onRestoreFailed: (tag: string, error: Error) => void,
  ) {
    client.defineCommand('celeryTakeBatch', { lua: TAKE_BATCH_SCRIPT });
  }

  /**
   * Takes up to `max` messages ready in `lists` (read in that order; `queues[i]` is the queue of
   * `lists[i]`), each already recorded as unacked: `[list, raw]` pairs, empty when none is ready.
   */
  async takeBatch(lists: readonly string[], queues: readonly string[], max: number): Promise<[string, string][]> {
    const keys = [UNACKED_KEY, UNACKED_INDEX_KEY, ...lists];
    const flat = (await (this.client as unknown as TakeBatchCommand).celeryTakeBatch(keys.length, ...keys, max, Date.now() / 1000, ...queues)) as string[];
    const pairs: [string, string][] = [];
    for (let index = 0; index < flat.length; index += 2) pairs.push([flat[index], flat[index + 1]]);
    return pairs;
  }

  /**
   * Records a message just popped from a queue. The raw list entry is stored as it was read, so
   * a restore puts back exactly what the producer wrote (plus the redelivered flags).
   */
  async record(tag: string, rawEnvelope: string, exchange: string, routingKey: string): Promise<void> {
    const entry = `[${rawEnvelope}, ${toPythonJson(exchange)}, ${toPythonJson(routingKey)}]`;
    await this.client.multi().zadd(UNACKED_INDEX_KEY, Date.now() / 1000, tag).hset(UNACKED_KEY, tag, entry).exec();
  }

  /**
   * Removes a settled message's record. Acks asked for in the same turn of the event loop go in
   * one MULTI (kombu sends one per message): at thousands of tasks a second, one round trip and
   * two commands per batch instead of per message.
   */
  ack(tag: string): Promise<void> {
    if (this.acks) {
      this.acks.tags.push(tag);
      return this.acks.done;
    }
    const tags = [tag];
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.acks = null;
      await this.client.multi().zrem(UNACKED_INDEX_KEY, ...tags).hdel(UNACKED_KEY, ...tags).exec();
    });
    this.acks = { tags, done };
    return done;
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

/** The script command defineCommand() adds to the client. */
interface TakeBatchCommand {
  celeryTakeBatch(numberOfKeys: number, ...keysAndArguments: (string | number)[]): Promise<unknown>;
}

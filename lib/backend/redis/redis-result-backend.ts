import type { Redis } from 'ioredis';
import { ResultStoreError } from '../../errors/result-store.error';
import { TaskResultMeta } from '../../protocol/result-meta';
import { TaskState } from '../../protocol/task-states';
import { closeConnection, connectWithin, createRedisClient, redisConnectionOptions } from '../../broker/redis/redis-connection';
import type { BackendCapabilities } from '../backend-capabilities';
import { encodeResult } from '../encode-result';
import { ResultBackendConnectionError } from '../../errors/result-backend-connection.error';
import { parseRedisUrl } from '../../broker/redis/redis-url';
import { CeleryLogger, SILENT_LOGGER } from '../../utils/logger';
import { maskSecretsInText } from '../../utils/mask-secrets';
import { withTimeout } from '../../utils/with-timeout';
import { ChordCounterStore } from '../chord-counter-store.interface';
import { GroupResultStore, SavedGroup } from '../group-result-store.interface';
import { ResultBackend, WaitOptions } from '../result-backend.interface';
import { waitForReadyResult } from '../wait-for-ready-result';
import { RedisResultChannels } from './redis-result-channels';
import {
  chordPartTaskId,
  decodeRedisResultMeta,
  decodeSavedGroup,
  encodeChordPart,
  encodeRedisResultMeta,
  encodeSavedGroup,
  groupKey,
  taskKey,
} from './redis-result-meta';

/** What needs ioredis, for the error when it is not installed. */
const REDIS_BACKEND = 'The Redis result backend (backend: redis://…)';

/** Options of the Redis result backend (Celery `result_backend = 'redis://…'`). */
export interface RedisResultBackendOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…?ssl_cert_reqs=required`. */
  url: string;
  /** Keys expire this long after each write (Celery `result_expires`, default 1 day); 0 or null: never. */
  resultExpiresSeconds?: number | null;
  /** Also write name, args, kwargs, worker, retries and queue (Celery `result_extended`, default false). */
  extended?: boolean;
  /** How long connect() waits for Redis. Default 30000. */
  connectTimeoutMs?: number;
  /**
   * How long storing a state may wait for Redis, reconnects included, before it fails with
   * ResultStoreError (an acksLate message then goes back to its queue). Default 60000, like the
   * PostgreSQL backend's `storeRetryTimeoutMs`.
   */
  storeTimeoutMs?: number;
  logger?: CeleryLogger;
}

/**
 * Celery's store, in one round trip: unless SUCCESS is already stored (Celery's guard against a
 * redelivered task overwriting its result: `_store_result` reads the meta first), SET (with
 * `result_expires` when > 0) and PUBLISH on the key's channel, atomically.
 * KEYS: the task's key.  ARGV: meta JSON, expiry seconds (0: none).
 */
const STORE_RESULT_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta.status == 'SUCCESS' then return 0 end
end
local expires = tonumber(ARGV[2])
if expires > 0 then redis.call('SETEX', KEYS[1], expires, ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1`;

/** The script command defineCommand() adds to the client. */
interface StoreResultCommand {
  celeryStoreResult(key: string, meta: string, expiresSeconds: number): Promise<number>;
}

/**
 * Why a chord part could not be counted. WRONGTYPE is Celery's unordered form: with
 * `result_backend_transport_options = {'result_chord_ordered': False}` its workers keep `.j` as a
 * list (RPUSH/LLEN), which a sorted-set join cannot share.
 */
function chordPartError(parts: string, taskId: string, error: Error): ResultStoreError {
  const hint = /WRONGTYPE/.test(error.message)
    ? ` ${parts} is not a sorted set: a Celery worker with result_backend_transport_options = {'result_chord_ordered': False} keeps it as a list, and this worker joins only Celery's default ordered form. Remove that setting (or set it to True) on the Python side.`
    : ' Check that Redis is reachable and not out of memory.';
  return new ResultStoreError(`Could not count task ${taskId} as a part of its chord in ${parts}: ${maskSecretsInText(error.message)}.${hint}`, { cause: error });
}

/**
 * Waits end on the published state; a read now and then is only a safety net for a message lost
 * (a reconnect), so the first comes after 25 ms, not 2: on a loaded machine a SUBSCRIBE or a
 * PUBLISH can take longer than 2 ms, and each early read was one more GET for nothing.
 */
const WAIT_BACKOFF = { initialDelayMs: 25, maxDelayMs: 1_000 };

/**
 * Celery's Redis result backend (`celery.backends.redis.RedisBackend`, celery-protocol.md §4.2):
 * each state is the JSON meta under `celery-task-meta-<id>`, written with SETEX `result_expires`
 * and PUBLISHed on a channel of the same name in one script, so `get()` (ours or Python's) is
 * woken, not polling. Groups are saved under `celery-taskset-meta-<id>`, and chords are joined
 * with Celery's own keys (`.s` size, `.j` sorted parts, `.t` added parts), so a chord's header
 * may run on Python and Nest workers alike and whichever finishes last sends the body.
 */
export class RedisResultBackend implements ResultBackend, GroupResultStore, ChordCounterStore {
  readonly description: string;
  readonly capabilities: BackendCapabilities = { readsBack: true, chordCounter: this, groupStore: this };
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly channels: RedisResultChannels;
  private readonly expiresSeconds: number;
  private readonly extended: boolean;
  private readonly logger: CeleryLogger;
  private readonly connectTimeoutMs: number;
  private readonly storeTimeoutMs: number;

  constructor(options: RedisResultBackendOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.storeTimeoutMs = options.storeTimeoutMs ?? 60_000;
    const url = parseRedisUrl(options.url);
    this.description = url.description;
    this.expiresSeconds = options.resultExpiresSeconds ?? 0;
    if (options.resultExpiresSeconds === undefined) this.expiresSeconds = 86_400;
    this.extended = options.extended ?? false;
    this.logger = options.logger ?? SILENT_LOGGER;
    // Named like the broker's connections, so `CLIENT LIST` shows whose they are.
    const connectionName = `nestjs-celery-results-${process.pid}`;
    this.client = createRedisClient(redisConnectionOptions(url, connectionName), REDIS_BACKEND, true);
    this.subscriber = createRedisClient(redisConnectionOptions(url, connectionName), REDIS_BACKEND);
    this.client.defineCommand('celeryStoreResult', { numberOfKeys: 1, lua: STORE_RESULT_SCRIPT });
    for (const connection of [this.client, this.subscriber]) {
      connection.on('error', (error: Error) => this.logger.warn(`Redis result backend ${this.description}: ${maskSecretsInText(error.message)}`));
    }
    this.channels = new RedisResultChannels(this.subscriber);
  }

  async connect(): Promise<void> {
    const failure = (lastError: string | undefined) =>
      new ResultBackendConnectionError(
        `Could not connect to the Redis result backend at ${this.description} within ${this.connectTimeoutMs} ms ` +
          `(${lastError ? `last error: ${lastError}` : 'no answer yet'}). Expected a reachable Redis: check the host, port, password and database number (and TLS for rediss://).`,
      );
    await Promise.all([connectWithin(this.client, this.connectTimeoutMs, failure), connectWithin(this.subscriber, this.connectTimeoutMs, failure)]);
  }

  /**
   * Stores one state as Celery does: unless SUCCESS is already stored (Celery's guard against a
   * redelivered task overwriting its result), SETEX (or SET) and PUBLISH in one script.
   */
  async storeResult(meta: TaskResultMeta): Promise<void> {
    const key = taskKey(meta.taskId);
    // Encoded first: a value with no JSON form is the task's FAILURE, not an unreachable Redis.
    const encoded = encodeResult(meta, () => encodeRedisResultMeta(meta, this.extended));
    const store = () => (this.client as unknown as StoreResultCommand).celeryStoreResult(key, encoded, this.expiresSeconds);
    try {
      // ioredis holds commands through reconnects without end (maxRetriesPerRequest: null): bounded here.
      await withTimeout(store(), this.storeTimeoutMs, () => new Error(`Redis did not answer within ${this.storeTimeoutMs} ms`));
    } catch (error) {
      throw new ResultStoreError(
        `Could not store the ${meta.status} state of task ${meta.taskId} in Redis at ${this.description}: ` +
          `${maskSecretsInText((error as Error).message)}. The state was not stored. Check that Redis is reachable and not out of memory.`,
        { cause: error },
      );
    }
  }

  async getResult(taskId: string): Promise<TaskResultMeta | null> {
    const text = await this.client.get(taskKey(taskId));
    return text === null ? null : decodeRedisResultMeta(taskId, text);
  }

  /**
   * Subscribes to the task's channel beside the first read, and ends on the published ready state
   * (see RedisResultChannels): GET+SUBSCRIBE, one GET once subscribed, then the PUBLISH.
   */
  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta> {
    return waitForReadyResult(taskId, (id) => this.getResult(id), this.channels, WAIT_BACKOFF, options);
  }

  /** Woken by the PUBLISH that comes with every stored state, Python's included. */
  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return this.channels.waitForChange(taskId, maxWaitMs, signal);
  }

  async forget(taskId: string): Promise<void> {
    await this.client.del(taskKey(taskId));
  }

  /** Redis expires results itself (every key has its TTL), as Celery's backend relies on: nothing to delete. */
  async deleteExpired(): Promise<number> {
    return 0;
  }

  async saveGroup(groupId: string, childIds: readonly string[]): Promise<void> {
    await this.set(groupKey(groupId), encodeSavedGroup(groupId, childIds));
  }

  async getGroup(groupId: string): Promise<SavedGroup | null> {
    const text = await this.client.get(groupKey(groupId));
    return text === null ? null : { groupId, childIds: decodeSavedGroup(text), dateDone: null };
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.client.del(groupKey(groupId));
  }

  /** Celery's `set_chord_size`: the header's size under `<group>.s`, written by the client before the header. */
  async createChordCounter(groupId: string, headerIds: readonly string[]): Promise<void> {
    await this.set(groupKey(groupId, '.s'), String(headerIds.length));
  }

  /**
   * Celery's `on_chord_part_return`: adds `[1, id, state, result]` to `<group>.j` scored by the
   * task's `group_index`, and compares the parts counted with `.s` + `.t`. The call that makes
   * them equal gets the header ids in header order (the set's order); the stored state comes
   * from the task's own key, stored just before. A chord without `.s` is not ours to count.
   * A command Redis refuses (WRONGTYPE on a `.j` kept as a list) throws ResultStoreError.
   */
  async countChordPart(groupId: string, taskId: string, groupIndex?: number | null): Promise<string[] | null> {
    const meta = (await this.getResult(taskId)) ?? { taskId, status: TaskState.SUCCESS, result: null };
    const parts = groupKey(groupId, '.j');
    const added = groupKey(groupId, '.t');
    const size = groupKey(groupId, '.s');
    const transaction = this.client
      .multi()
      .zadd(parts, groupIndex ?? '+inf', encodeChordPart(meta))
      .zcount(parts, '-inf', '+inf')
      .get(added)
      .get(size);
    if (this.expiresSeconds > 0) transaction.expire(parts, this.expiresSeconds).expire(added, this.expiresSeconds).expire(size, this.expiresSeconds);
    const replies = (await transaction.exec()) ?? [];
    // A failed command of the MULTI is an error in its reply, not a rejection: unread, it counted as "not complete" for ever.
    const failed = replies.find(([error]) => error)?.[0];
    if (failed) throw chordPartError(parts, taskId, failed);
    const [, [, readyCount], [, addedCount], [, chordSize]] = replies;
    if (chordSize === null || chordSize === undefined) return null;
    if (Number(readyCount) !== Number(chordSize) + Number(addedCount ?? 0)) return null;
    const members = await this.client.zrange(parts, 0, -1);
    return members.map(chordPartTaskId);
  }

  async deleteChordCounter(groupId: string): Promise<void> {
    await this.client.del(groupKey(groupId, '.j'), groupKey(groupId, '.t'), groupKey(groupId, '.s'));
  }

  async getResults(taskIds: readonly string[]): Promise<(TaskResultMeta | null)[]> {
    if (taskIds.length === 0) return [];
    const texts = await this.client.mget(...taskIds.map(taskKey));
    return texts.map((text, index) => (text === null ? null : decodeRedisResultMeta(taskIds[index], text)));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    await this.channels.close();
    await Promise.all([this.client, this.subscriber].map(closeConnection));
  }

  /** Celery's `RedisBackend._set`: SETEX with `result_expires` (SET when 0) and PUBLISH on the key's channel, in one MULTI. */
  private async set(key: string, value: string): Promise<void> {
    const transaction = this.client.multi();
    if (this.expiresSeconds > 0) transaction.setex(key, this.expiresSeconds, value);
    else transaction.set(key, value);
    await transaction.publish(key, value).exec();
  }
}


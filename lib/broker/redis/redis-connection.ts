import type { Redis, RedisOptions } from 'ioredis';
import { maskSecretsInText } from '../../utils/mask-secrets';
import { coalesceCommandWrites } from './coalesce-command-writes';
import { loadOptionalPackage } from '../../utils/optional-package';
import type { RedisUrl } from './redis-url';

/**
 * A new ioredis client. ioredis is an optional peer dependency, loaded here, when a Redis broker or
 * result backend is created: `neededBy` names it in the error when ioredis is not installed.
 * `pipelined` (for the connections that send commands, not those that block in BRPOP or
 * subscribe): the commands of one turn of the event loop leave in one write
 * (coalesce-command-writes.ts).
 */
export function createRedisClient(options: RedisOptions, neededBy: string, pipelined = false): Redis {
  const { Redis: RedisClient } = loadOptionalPackage<typeof import('ioredis')>('ioredis', neededBy);
  const client = new RedisClient(options);
  if (pipelined) coalesceCommandWrites(client);
  return client;
}

/**
 * ioredis settings shared by the broker and the result backend: connect on demand, reconnect
 * forever with a backoff capped at 5 s (ioredis re-subscribes and resends what was in flight), and
 * let commands wait through reconnects instead of failing after 20 retries; the callers' own
 * timeouts bound them. Spaces are not allowed in Redis connection names.
 */
export function redisConnectionOptions(url: RedisUrl, connectionName?: string): RedisOptions {
  return {
    ...url.connection,
    connectionName: connectionName?.replace(/\s+/g, '-'),
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5_000),
  };
}

/** QUIT when connected (replies in flight arrive first); a connection never opened, or reconnecting, is just dropped. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}

/**
 * Opens a lazy connection and resolves once Redis answers PING; rejects with `failure(lastError)`
 * after `timeoutMs` (ioredis keeps retrying meanwhile: a wrong password or an unreachable host
 * shows up as the last error, masked). The connection keeps reconnecting after a timeout.
 */
export async function connectWithin(connection: Redis, timeoutMs: number, failure: (lastError: string | undefined) => Error): Promise<void> {
  let lastError: string | undefined;
  const onError = (error: Error) => (lastError = maskSecretsInText(error.message));
  connection.on('error', onError);
  if (connection.status === 'wait') void connection.connect().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // A refusal (wrong password, unknown database) answers the PING itself: reported at once.
      connection.ping().catch((error: Error) => {
        throw failure(maskSecretsInText(error.message));
      }),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(failure(lastError)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    connection.off('error', onError);
  }
}

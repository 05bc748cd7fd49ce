import type { Redis, RedisOptions } from 'ioredis';
import type { RedisUrl } from './redis-url';

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

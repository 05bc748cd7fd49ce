import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { InvalidRedisUrlError } from '../../errors/invalid-redis-url.error';
import { maskUrl } from '../../utils/mask-secrets';

/** The schemes Celery accepts for Redis, as broker and as result backend (`socket://` is not supported here). */
export const REDIS_URL_SCHEMES = ['redis', 'rediss', 'sentinel'] as const;

/** What a Redis URL says: where to connect, and the query settings Celery reads from it. */
export interface RedisUrl {
  /** ioredis connection options: host, port, db, username, password, tls. */
  connection: RedisOptions;
  /** The database number (kombu puts it in the fanout channel names: `/{db}.`). */
  db: number;
  /** `?visibility_timeout=` in seconds (kombu's transport option of that name), when given. */
  visibilityTimeoutSeconds?: number;
  /** The URL with its password masked, for logs. */
  description: string;
}

/**
 * Parses `redis://[[user]:password@]host[:port][/db][?…]` and `rediss://…` the way redis-py's
 * `from_url` and Celery do: db from the path (default 0), password percent-decoded, TLS for
 * rediss:// with `ssl_cert_reqs` (`required` default, `optional`, `none`; also `CERT_REQUIRED`…)
 * and `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile` paths. Throws InvalidRedisUrlError.
 */
export function parseRedisUrl(url: string): RedisUrl {
  if (/^sentinel:/i.test(url)) return parseSentinelUrl(url);
  const description = maskUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRedisUrlError(description, 'it is not a URL');
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (!(REDIS_URL_SCHEMES as readonly string[]).includes(scheme)) throw new InvalidRedisUrlError(description, `the scheme is "${scheme}://"`);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\/+/, '') || parsed.searchParams.get('db') || '0';
  const db = Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new InvalidRedisUrlError(description, `the database "${dbText}" is not a number`);
  const connection: RedisOptions = {
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    port,
    db,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
  const query = parsed.searchParams;
  if (scheme === 'rediss') connection.tls = tlsOptions(query, description);
  const visibility = query.get('visibility_timeout');
  let visibilityTimeoutSeconds: number | undefined;
  if (visibility !== null) {
    visibilityTimeoutSeconds = Number(visibility);
    if (!(visibilityTimeoutSeconds > 0)) throw new InvalidRedisUrlError(description, `visibility_timeout "${visibility}" is not a positive number of seconds`);
  }
  return { connection, db, visibilityTimeoutSeconds, description };
}

const CERT_REQS: Record<string, boolean> = {
  required: true,
  cert_required: true,
  optional: false, // Node cannot ask for a certificate without requiring it; optional verifies nothing, as "none"
  cert_optional: false,
  none: false,
  cert_none: false,
};

function tlsOptions(query: URLSearchParams, description: string): NonNullable<RedisOptions['tls']> {
  const reqs = (query.get('ssl_cert_reqs') ?? 'required').toLowerCase();
  const rejectUnauthorized = CERT_REQS[reqs];
  if (rejectUnauthorized === undefined) throw new InvalidRedisUrlError(description, `ssl_cert_reqs "${reqs}" is not required, optional or none`);
  const file = (name: string) => {
    const path = query.get(name);
    return path ? readFileSync(path) : undefined;
  };
  return { rejectUnauthorized, ca: file('ssl_ca_certs'), cert: file('ssl_certfile'), key: file('ssl_keyfile') };
}

/**
 * Celery's Sentinel form, `sentinel://[:password@]host:port[/db];sentinel://host2:port…` (kombu's
 * `SentinelChannel`): each part names a Sentinel; the password and db are the master's. The master
 * name, which Celery takes from `broker_transport_options = {'master_name': …}`, is given as
 * `?master_name=` on any part. ioredis asks the Sentinels for the master and follows failovers.
 */
function parseSentinelUrl(url: string): RedisUrl {
  const parts = url.split(';').filter((part) => part.trim() !== '');
  const description = parts.map(maskUrl).join(';');
  const parsed = parts.map((part) => parseRedisUrl(part.trim().replace(/^sentinel:/i, 'redis:')));
  const masterName = parts.map((part) => /[?&]master_name=([^&;]+)/.exec(part)?.[1]).find((name) => name !== undefined);
  if (!masterName) {
    throw new InvalidRedisUrlError(description, "a sentinel:// URL needs the master's name: add ?master_name=<name> (Celery: broker_transport_options={'master_name': …})");
  }
  const first = parsed[0];
  return {
    connection: {
      sentinels: parsed.map(({ connection }) => ({ host: connection.host!, port: connection.port! })),
      name: decodeURIComponent(masterName),
      db: first.db,
      ...(first.connection.username ? { username: first.connection.username } : {}),
      ...(first.connection.password ? { password: first.connection.password } : {}),
    },
    db: first.db,
    visibilityTimeoutSeconds: parsed.find((part) => part.visibilityTimeoutSeconds !== undefined)?.visibilityTimeoutSeconds,
    description,
  };
}

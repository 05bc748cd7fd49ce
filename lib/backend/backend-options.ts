import type { DataSource } from 'typeorm';
import { optionKeys } from '../utils/option-keys';

/** PostgreSQL result backend in Celery's own tables (Celery: `db+postgresql://…`). */
export interface PostgresBackendOptions {
  type: 'postgres';
  /** `postgresql://user:password@host/db` (also Celery's `db+postgresql://` form). */
  url?: string;
  /** Use the app's own TypeORM DataSource instead of a URL (add celeryResultEntities to it). */
  dataSource?: DataSource;
  /** Seconds results are kept (Celery: `result_expires`). Default 86400; 0 keeps them forever. */
  resultExpiresSeconds?: number;
  /** Write name, args, kwargs, worker, retries, queue (Celery: `result_extended`). Default true. */
  extended?: boolean;
  /** Run the shipped migrations at start-up. Default true. */
  migrationsRun?: boolean;
  /** TypeORM synchronize, for development only. Default false. */
  synchronize?: boolean;
  /** How long a result write retries while PostgreSQL is unreachable, ms. Default 60000. */
  storeRetryTimeoutMs?: number;
}

/** Embedded PostgreSQL (PGlite) in this process (`embedded://`); never a default: ask for it. */
export interface EmbeddedBackendOptions {
  type: 'embedded';
  /** Directory to keep the data in; in memory when omitted. */
  dataDir?: string;
  resultExpiresSeconds?: number;
}

/** Redis result backend, Celery's keys (Celery: `redis://…`); a plain URL string works too. */
export interface RedisBackendOptions {
  type: 'redis';
  /** `redis://:password@host:6379/0` or `rediss://…?ssl_cert_reqs=required`. */
  url: string;
  /** Seconds each result key lives (Celery: `result_expires`). Default 86400; 0 keeps them forever. */
  resultExpiresSeconds?: number;
  /** Write name, args, kwargs, worker, retries, queue (Celery: `result_extended`). Default false, as Celery. */
  extended?: boolean;
}

export type ResultBackendOption = string | false | PostgresBackendOptions | EmbeddedBackendOptions | RedisBackendOptions;

export const POSTGRES_BACKEND_OPTION_KEYS = optionKeys<PostgresBackendOptions>()(
  'type', 'url', 'dataSource', 'resultExpiresSeconds', 'extended', 'migrationsRun', 'synchronize', 'storeRetryTimeoutMs',
);
export const EMBEDDED_BACKEND_OPTION_KEYS = optionKeys<EmbeddedBackendOptions>()('type', 'dataDir', 'resultExpiresSeconds');
export const REDIS_BACKEND_OPTION_KEYS = optionKeys<RedisBackendOptions>()('type', 'url', 'resultExpiresSeconds', 'extended');

import { UnsupportedResultBackendError } from '../errors/unsupported-result-backend.error';
import type { DatabaseBackendOptions } from './database/database-backend-options';
import type { ResultBackend } from './result-backend.interface';
import type { Broker } from '../broker/broker.interface';

/**
 * The result backend settings: Celery's `result_backend` URL plus the options of the backend it
 * selects. No URL means the application's `dataSource` when given, else the embedded
 * (in-process PGlite) database.
 */
export interface ResultBackendConfig extends DatabaseBackendOptions {
  /** Celery's `result_backend`: `postgresql://…`, `postgres://…`, `db+postgresql://…`, `embedded://`, `rpc://`, `redis://`, `rediss://`, `sentinel://`, `memory://`. */
  url?: string;
  /** The app's broker: the rpc:// backend sends and receives results through it. */
  broker?: Broker;
}

type BackendFactory = (config: ResultBackendConfig) => ResultBackend;

/*
 * Each backend's module is loaded when a URL selects it, not when nestjs-celery is imported: a
 * worker loads only the backend it is configured with (start-up time, idle memory).
 */
const database: BackendFactory = (config) => {
  const { DatabaseResultBackend } = require('./database/database-result-backend') as typeof import('./database/database-result-backend');
  return new DatabaseResultBackend(config);
};

/** Celery's defaults for Redis: `result_expires` one day, `result_extended` off (unlike our database default). */
const redis: BackendFactory = ({ url, resultExpiresSeconds, extended, logger }) => {
  const { RedisResultBackend } = require('./redis/redis-result-backend') as typeof import('./redis/redis-result-backend');
  return new RedisResultBackend({ url: url!, resultExpiresSeconds, extended: extended ?? false, logger });
};

/** `embedded://` may carry a directory: `embedded:///var/lib/app/results` persists there. */
const embedded: BackendFactory = ({ url, ...config }) => {
  const dataDir = url ? decodeURIComponent(url.slice('embedded://'.length)) || undefined : undefined;
  return database({ ...config, embedded: { dataDir: dataDir ?? config.embedded?.dataDir } });
};

/** `memory://` (or Celery's `cache+memory://`): results in this process, shared by backends of the same URL. */
const memory: BackendFactory = ({ url }) => {
  const { MemoryResultBackend } = require('./memory/memory-result-backend') as typeof import('./memory/memory-result-backend');
  return new MemoryResultBackend(url);
};

const rpc: BackendFactory = (config) =>
  (require('./rpc/create-rpc-result-backend') as typeof import('./rpc/create-rpc-result-backend')).createRpcResultBackend(config);

/**
 * URL scheme → backend. Celery's other schemes are listed as planned so users get "not yet
 * supported" rather than "unknown"; adding one is adding a line here.
 */
const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map([
  ['postgresql:', database],
  ['postgres:', database],
  ['db+postgresql:', database],
  ['db+postgres:', database],
  ['embedded:', embedded],
  ['rpc:', rpc],
  ['redis:', redis],
  ['rediss:', redis],
  ['sentinel:', redis],
  ['memory:', memory],
  ['cache+memory:', memory],
]);

const PLANNED_SCHEMES: readonly string[] = [];

/**
 * Creates the result backend a Celery `result_backend` URL names (not connected yet). Throws
 * UnsupportedResultBackendError for schemes this module does not implement.
 */
export function createResultBackend(config: ResultBackendConfig = {}): ResultBackend {
  if (config.url === undefined || config.url === '') {
    return config.dataSource ? database({ ...config, url: undefined }) : embedded({ ...config, url: undefined });
  }
  const scheme = schemeOf(config.url);
  const factory = BACKENDS.get(scheme) ?? BACKENDS.get(scheme.replace(/\+[a-z0-9_]+:$/, ':'));
  if (!factory) throw new UnsupportedResultBackendError(scheme, [...BACKENDS.keys()].map((key) => `${key}//`), PLANNED_SCHEMES);
  return factory(config);
}

/** `db+postgresql+psycopg2://…` → `db+postgresql+psycopg2:`; '' without a scheme (never the credentials). */
function schemeOf(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url);
  return match ? match[1].toLowerCase() : '';
}

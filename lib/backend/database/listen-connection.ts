import type { ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { DatabaseBackendOptions } from './database-backend-options';
import { isPostgresUrl, toNodePostgresUrl } from './postgres-url';

/** The `postgres` DataSource options a LISTEN connection needs (TypeORM's PostgresConnectionOptions). */
interface PostgresDataSourceOptions {
  type: string;
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: ClientConfig['password'];
  database?: string;
  ssl?: ClientConfig['ssl'];
  replication?: unknown;
  extra?: Record<string, unknown>;
}

/**
 * Where the LISTEN connection of `PostgresResultListener` goes: the backend's URL, or the same
 * server as the application's own node-postgres DataSource. Null when there is no such server to
 * reach (the embedded PGlite, another driver, a replicated DataSource): waits then poll only.
 */
export function listenConnectionFor(options: DatabaseBackendOptions): ClientConfig | null {
  if (options.url !== undefined) {
    // A URL that is not PostgreSQL's fails in connect(), with the advice there.
    return isPostgresUrl(options.url) ? { connectionString: toNodePostgresUrl(options.url) } : null;
  }
  if (options.dataSource) return fromDataSource(options.dataSource);
  return null;
}

function fromDataSource(dataSource: DataSource): ClientConfig | null {
  const settings = dataSource.options as unknown as PostgresDataSourceOptions;
  if (settings.type !== 'postgres' || settings.replication !== undefined) return null;
  // The same fields, from the same options, as TypeORM's own pool (PostgresDriver.createPool).
  return {
    connectionString: settings.url,
    host: settings.host,
    port: settings.port,
    user: settings.username,
    password: settings.password,
    database: settings.database,
    ssl: settings.ssl,
    ...settings.extra,
  };
}

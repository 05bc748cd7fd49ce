import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { maskUrl } from '../../lib/utils/mask-secrets';

/**
 * The PostgreSQL server integration tests run against. Override with the POSTGRES_URL
 * environment variable; the default is the local trust-auth server of the dev container.
 */
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://root@127.0.0.1:5432/test';

/** A database created for one test file, so files never share Celery's fixed table names. */
export interface TestDatabase {
  /** The database's own connection URL (same server, credentials as POSTGRES_URL). */
  url: string;
  /** The database name, e.g. for a Python `db+postgresql://…/<name>` URL. */
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

const HOW_TO_START =
  'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or point POSTGRES_URL at a running server). Integration tests fail rather than skip when it is missing.';

/**
 * Fails fast with a clear message when the test server is down: a missing PostgreSQL must fail
 * the run, never silently skip the tests that need it.
 */
export async function assertPostgresReachable(): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${maskUrl(POSTGRES_URL)} (${(error as Error).message}). ${HOW_TO_START}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates a fresh, uniquely named database on the test server and returns its URL. Celery's table
 * and sequence names are fixed, so each test file needs its own database to run in parallel.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  await assertPostgresReachable();
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await runOnServer(`CREATE DATABASE "${name}"`);
  const url = databaseUrl(name);
  return {
    url,
    name,
    drop: () => runOnServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

function databaseUrl(databaseName: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

async function runOnServer(sql: string): Promise<void> {
  const client = new Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs one SQL statement on its own short connection and returns the rows. */
export async function querySql(url: string, sql: string, parameters: unknown[] = []): Promise<any[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

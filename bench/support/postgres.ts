import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { onCleanup } from './cleanup';

/** A database of its own for one column of one scenario (Celery's table names are fixed); dropped at clean-up. */
export interface BenchDatabase {
  url: string;
  /** A connection for the benchmark's own queries (counting results, seeding rows). */
  client: Client;
}

export async function createDatabase(serverUrl: string, prefix: string): Promise<BenchDatabase> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE "${name}"`);
  onCleanup(`database ${name}`, () => onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  onCleanup(`connection to ${name}`, () => client.end().catch(() => undefined));
  return { url: url.toString(), client };
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The highest row id in celery_taskmeta (0 when empty or not created yet): results after it are new. */
export async function lastResultId(database: BenchDatabase): Promise<number> {
  try {
    const { rows } = await database.client.query('SELECT coalesce(max(id), 0)::bigint AS id FROM celery_taskmeta');
    return Number(rows[0].id);
  } catch {
    return 0;
  }
}

/**
 * Rows written after row `afterId`, read off the id index (O(log n), unlike a count): each stored
 * result takes the next id, so this follows progress without the poll itself scanning a table
 * that grows to a million rows (a count every 250 ms did, and slowed the late tenth it measured).
 * Check the exact SUCCESS count once at the end with successesAfter().
 */
export async function rowsAfter(database: BenchDatabase, afterId: number): Promise<number> {
  return Math.max(0, (await lastResultId(database)) - afterId);
}

/** SUCCESS rows written after row `afterId`. */
export async function successesAfter(database: BenchDatabase, afterId: number): Promise<number> {
  try {
    const { rows } = await database.client.query("SELECT count(*)::integer AS n FROM celery_taskmeta WHERE id > $1 AND status = 'SUCCESS'", [afterId]);
    return rows[0].n as number;
  } catch {
    return 0; // the worker has not created the table yet
  }
}

/**
 * Fills celery_taskmeta with `count` SUCCESS rows shaped like ours (a pickled None, a date, the
 * extended columns), in batches so no single statement holds the server for long.
 */
export async function seedResults(database: BenchDatabase, count: number): Promise<void> {
  const batch = 200_000;
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    await database.client.query(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue, result_json)
       SELECT nextval('task_id_sequence'), md5(random()::text || n::text), 'SUCCESS', '\\x80054e2e'::bytea, now() at time zone 'utc',
              NULL, 'bench.noop', '[]'::bytea, '{}'::bytea, 'seed@bench', 0, 'seed', 'null'::jsonb
       FROM generate_series(1, $1::integer) AS n`,
      [size],
    );
  }
  await database.client.query('ANALYZE celery_taskmeta');
}

import { DataSource } from 'typeorm';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { celeryResultEntities } from '../../lib/backend/database/entities';
import { celeryResultMigrations } from '../../lib/backend/database/migrations';
import { createTestDatabase, TestDatabase } from '../support/postgres';

const HOUR = 3_600_000;

/**
 * The database backend as the workers' revoked-task store (`celery_revoked_tasks`, ours, ignored
 * by Python), on PostgreSQL and on the embedded PGlite.
 */
describe.each([
  ['PostgreSQL', 'postgres'],
  ['embedded PGlite', 'embedded'],
] as const)('revoked task ids in %s', (_label, kind) => {
  let database: TestDatabase | undefined;
  let backend: DatabaseResultBackend;

  beforeAll(async () => {
    if (kind === 'postgres') database = await createTestDatabase('revoked_store');
    backend = new DatabaseResultBackend(database ? { url: database.url } : { embedded: {} });
    await backend.connect();
  });

  afterAll(async () => {
    await backend?.close();
    await database?.drop();
  });

  it('saves ids in one upsert (duplicates included) and loads those revoked since a time, oldest first', async () => {
    const now = Date.now();
    await backend.saveRevoked(['a', 'b', 'a'], new Date(now - 2 * HOUR));
    await backend.saveRevoked(['c'], new Date(now - HOUR));
    await backend.saveRevoked([], new Date(now));
    expect(await backend.loadRevoked(new Date(now - 3 * HOUR))).toEqual(['a', 'b', 'c']);
    // Revoking again renews the time.
    await backend.saveRevoked(['a'], new Date(now));
    expect(await backend.loadRevoked(new Date(now - 90 * 60_000))).toEqual(['c', 'a']);
  });

  it('forgets ids older than the window it is asked for: no worker refuses them any more', async () => {
    const now = Date.now();
    await backend.saveRevoked(['old'], new Date(now - 5 * HOUR));
    expect(await backend.loadRevoked(new Date(now - 6 * HOUR))).toContain('old');
    await backend.loadRevoked(new Date(now - 4 * HOUR));
    expect(await backend.loadRevoked(new Date(now - 6 * HOUR))).not.toContain('old');
  });
});

describe('the revoked-task migration', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('revoked_migration');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('is idempotent and matches its entity: run twice, TypeORM synchronize finds nothing to do', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: database.url, entities: celeryResultEntities, migrations: celeryResultMigrations });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'all' });
      const runner = dataSource.createQueryRunner();
      try {
        for (const Migration of celeryResultMigrations) await new Migration().up(runner);
      } finally {
        await runner.release();
      }
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
      const [{ columns }] = await dataSource.query(
        `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS columns FROM information_schema.columns WHERE table_name = 'celery_revoked_tasks'`,
      );
      expect(columns).toBe('task_id character varying, revoked_at timestamp with time zone');
    } finally {
      await dataSource.destroy();
    }
  });
});

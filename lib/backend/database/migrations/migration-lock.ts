import type { DataSource } from 'typeorm';

/**
 * Any constant: every migration takes this advisory lock first, so concurrent runs (several
 * workers starting at once) are serialised.
 */
export const MIGRATION_LOCK_KEY = 0x63656c72; // "celr"

/**
 * Held around a whole `runMigrations`: TypeORM creates its `migrations` table before the first
 * migration takes MIGRATION_LOCK_KEY, with a check-then-create that two processes starting at once
 * race on (`duplicate key value violates unique constraint "pg_class_relname_nsp_index"`, seen
 * when two workers started together on a fresh database). A key of its own: the migrations take
 * MIGRATION_LOCK_KEY on another connection, which must not wait for this one.
 */
const MIGRATION_RUN_LOCK_KEY = MIGRATION_LOCK_KEY + 1;

/** Runs the DataSource's migrations, one process at a time (a session advisory lock on a connection of its own). */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<void> {
  const lockHolder = dataSource.createQueryRunner();
  await lockHolder.connect();
  try {
    await lockHolder.query(`SELECT pg_advisory_lock(${MIGRATION_RUN_LOCK_KEY})`);
    try {
      await dataSource.runMigrations({ transaction: 'all' });
    } finally {
      await lockHolder.query(`SELECT pg_advisory_unlock(${MIGRATION_RUN_LOCK_KEY})`).catch(() => undefined);
    }
  } finally {
    await lockHolder.release();
  }
}

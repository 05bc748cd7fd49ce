import type { QueryRunner } from 'typeorm';

/**
 * Any constant: every run of our migrations holds this advisory lock, and every migration takes it
 * again first (re-entrant in the same session), so concurrent runs (several workers starting at
 * once, or a TypeORM CLI run beside them) are serialised.
 */
export const MIGRATION_LOCK_KEY = 0x63656c72; // "celr"

/**
 * Runs `work` in one transaction, one process at a time.
 *
 * On a connection of our own: a session lock taken *before* the transaction starts, so the
 * transaction's snapshot is taken after the previous holder committed (under REPEATABLE READ or
 * SERIALIZABLE, a lock taken inside the transaction would leave it reading a snapshot from before
 * the wait, and it would run the same migrations again). The whole run sits under it, the
 * creation of `celery_migrations` included: two workers starting together on a fresh database
 * used to race on TypeORM's check-then-create of its own table (`duplicate key value violates
 * unique constraint "pg_class_relname_nsp_index"`).
 *
 * Inside a transaction the caller already opened (a migration of the app's own pipeline calling
 * `runCeleryMigrations(queryRunner, …)`): a transaction-level lock, released by the caller's commit.
 */
export async function holdMigrationLock<Result>(runner: QueryRunner, work: () => Promise<Result>): Promise<Result> {
  if (runner.isTransactionActive) {
    await runner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    return work();
  }
  await runner.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  try {
    await runner.startTransaction();
    try {
      const result = await work();
      await runner.commitTransaction();
      return result;
    } catch (error) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  } finally {
    // A connection that broke took the lock with it; nothing else can make this fail.
    await runner.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => undefined);
  }
}

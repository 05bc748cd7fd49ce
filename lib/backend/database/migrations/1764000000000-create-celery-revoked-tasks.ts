import { MigrationInterface, QueryRunner } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames as T } from '../celery-table-names';
import { MIGRATION_LOCK_KEY } from './migration-lock';

/**
 * Creates `celery_revoked_tasks`, where workers of this module keep revoked task ids so they
 * survive a restart (Celery's `--statedb`, shared through the database). Python Celery ignores
 * the table. Idempotent, like every migration here: safe to run twice or concurrently.
 */
export class CreateCeleryRevokedTasks1764000000000 implements MigrationInterface {
  name = 'CreateCeleryRevokedTasks1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.revokedTable} (
        task_id character varying(${CELERY_STRING_LENGTH}) NOT NULL,
        revoked_at timestamp with time zone NOT NULL,
        CONSTRAINT ${T.revokedPrimaryKey} PRIMARY KEY (task_id)
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${T.revokedAtIndex} ON ${T.revokedTable} (revoked_at)`);
  }

  /** The table is ours alone: dropping it loses only the revoked ids of workers not running. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${T.revokedTable}`);
  }
}

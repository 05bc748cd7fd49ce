import { MigrationInterface, QueryRunner } from 'typeorm';
import { CELERY_STRING_LENGTH } from '../../backend/database/celery-table-names';
import { MIGRATION_LOCK_KEY } from '../../backend/database/migrations/migration-lock';
import { TaskHistoryNames as T } from './task-history-names';

/**
 * Creates `celery_task_history`, the dashboard's task history. Idempotent like every migration of
 * this module (safe to run twice or from several processes at once); the dashboard runs it itself
 * when it starts on the result backend's database.
 */
export class CreateCeleryTaskHistory1767000000000 implements MigrationInterface {
  /**
   * It shared its timestamp with CreateCeleryOutbox1766000000000: two migrations at one instant
   * have no defined order. A database that recorded the old name is not migrated again.
   */
  static readonly formerNames = ['CreateCeleryTaskHistory1766000000000'];
  name = 'CreateCeleryTaskHistory1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.table} (
        task_id character varying(${CELERY_STRING_LENGTH}) NOT NULL,
        name character varying(${CELERY_STRING_LENGTH}),
        state character varying(50) NOT NULL,
        worker character varying(${CELERY_STRING_LENGTH}),
        args text,
        kwargs text,
        result text,
        exception text,
        traceback text,
        retries integer,
        runtime double precision,
        received_at timestamp with time zone,
        started_at timestamp with time zone,
        updated_at timestamp with time zone NOT NULL,
        timeline jsonb NOT NULL,
        details jsonb NOT NULL,
        CONSTRAINT ${T.primaryKey} PRIMARY KEY (task_id)
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${T.updatedAtIndex} ON ${T.table} (updated_at)`);
  }

  /** The table is the dashboard's alone: dropping it loses only the history. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${T.table}`);
  }
}

/** The dashboard's migrations, for `runCeleryMigrations()` in your own pipeline (docs/MIGRATIONS.md). */
export const celeryDashboardMigrations = [CreateCeleryTaskHistory1767000000000];

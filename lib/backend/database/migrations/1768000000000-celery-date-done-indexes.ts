import { MigrationInterface, QueryRunner } from 'typeorm';
import { CeleryTableNames as T } from '../celery-table-names';
import { MIGRATION_LOCK_KEY } from './migration-lock';

/**
 * Indexes `date_done` of both result tables under the names Celery 5.6's models give them
 * (`index=True` on the column: `ix_celery_taskmeta_date_done`, `ix_celery_tasksetmeta_date_done`),
 * in place of the index our first migration created before. Tables Celery 5.6 created already
 * have them; tables of Celery 5.2 or of an earlier release of ours get them here. One name per index on both sides, so
 * neither TypeORM's synchronize nor a Python migration tool wants to drop the other's.
 */
export class CeleryDateDoneIndexes1768000000000 implements MigrationInterface {
  name = 'CeleryDateDoneIndexes1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${T.taskDateDoneIndex} ON ${T.taskTable} (date_done)`);
    await queryRunner.query(`DROP INDEX IF EXISTS ${T.legacyTaskDateDoneIndex}`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${T.groupDateDoneIndex} ON ${T.groupTable} (date_done)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ${T.legacyTaskDateDoneIndex} ON ${T.taskTable} (date_done)`);
    await queryRunner.query(`DROP INDEX IF EXISTS ${T.taskDateDoneIndex}`);
    await queryRunner.query(`DROP INDEX IF EXISTS ${T.groupDateDoneIndex}`);
  }
}

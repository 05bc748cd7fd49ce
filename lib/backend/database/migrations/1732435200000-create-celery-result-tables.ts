import { MigrationInterface, QueryRunner } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames as T } from '../celery-table-names';
import { CREATE_CELERY_SEQUENCES_SQL } from './celery-sequences';
import { MIGRATION_LOCK_KEY } from './migration-lock';
import { createTriggerIfMissing } from './create-trigger-if-missing';

const STRING = `character varying(${CELERY_STRING_LENGTH})`;

/**
 * Creates Celery's result tables exactly as Python Celery 5.2.6 does (celery_taskmeta,
 * celery_tasksetmeta and their sequences), or completes tables Python already created.
 *
 * Every statement is idempotent, so the migration is safe on a fresh database, on tables created
 * by a Python deployment with `result_extended = False` (the six extended columns are added), and
 * when run twice. On top of Celery's schema it adds what Python ignores: id DEFAULTs, the
 * `result_json` column, an index on `date_done` for expiry, and a trigger that clears
 * `result_json` when a writer that does not know it (Python Celery) replaces `result`.
 */
export class CreateCeleryResultTables1732435200000 implements MigrationInterface {
  name = 'CreateCeleryResultTables1732435200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    for (const statement of CREATE_CELERY_SEQUENCES_SQL) await queryRunner.query(statement);
    await this.createTaskTable(queryRunner);
    await this.createGroupTable(queryRunner);
  }

  /**
   * Removes only what this migration added on top of Celery's schema. The tables and Celery's
   * columns stay: Python Celery may own them and their rows.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS ${T.taskResultJsonTrigger} ON ${T.taskTable}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${T.taskResultJsonFunction}()`);
    await queryRunner.query(`DROP INDEX IF EXISTS ${T.legacyTaskDateDoneIndex}`);
    await queryRunner.query(`ALTER TABLE ${T.taskTable} DROP COLUMN IF EXISTS result_json`);
    await queryRunner.query(`ALTER TABLE ${T.taskTable} ALTER COLUMN id DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE ${T.groupTable} ALTER COLUMN id DROP DEFAULT`);
  }

  private async createTaskTable(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.taskTable} (
        id integer NOT NULL DEFAULT nextval('${T.taskSequence}'),
        task_id ${STRING},
        status character varying(50),
        result bytea,
        date_done timestamp without time zone,
        traceback text,
        CONSTRAINT ${T.taskPrimaryKey} PRIMARY KEY (id),
        CONSTRAINT ${T.taskIdUnique} UNIQUE (task_id)
      )`);
    // Celery's result_extended columns, missing when Python created the table without it.
    await queryRunner.query(`
      ALTER TABLE ${T.taskTable}
        ADD COLUMN IF NOT EXISTS name ${STRING},
        ADD COLUMN IF NOT EXISTS args bytea,
        ADD COLUMN IF NOT EXISTS kwargs bytea,
        ADD COLUMN IF NOT EXISTS worker ${STRING},
        ADD COLUMN IF NOT EXISTS retries integer,
        ADD COLUMN IF NOT EXISTS queue ${STRING},
        ADD COLUMN IF NOT EXISTS result_json jsonb`);
    await queryRunner.query(`ALTER TABLE ${T.taskTable} ALTER COLUMN id SET DEFAULT nextval('${T.taskSequence}')`);
    // The date_done index is CeleryDateDoneIndexes1768000000000's, under Celery 5.6's name.
    await this.createStaleResultJsonTrigger(queryRunner);
  }

  /**
   * Python's UPDATE sets only Celery's columns, which would leave our `result_json` describing an
   * older result. The trigger clears it when `result` changes and `result_json` does not.
   */
  private async createStaleResultJsonTrigger(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ${T.taskResultJsonFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.result IS DISTINCT FROM OLD.result AND NEW.result_json IS NOT DISTINCT FROM OLD.result_json THEN
          NEW.result_json := NULL;
        END IF;
        RETURN NEW;
      END
      $$`);
    await createTriggerIfMissing(queryRunner, { name: T.taskResultJsonTrigger, table: T.taskTable, timing: 'BEFORE UPDATE', level: 'ROW', fn: T.taskResultJsonFunction });
  }

  private async createGroupTable(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.groupTable} (
        id integer NOT NULL DEFAULT nextval('${T.groupSequence}'),
        taskset_id ${STRING},
        result bytea,
        date_done timestamp without time zone,
        CONSTRAINT ${T.groupPrimaryKey} PRIMARY KEY (id),
        CONSTRAINT ${T.groupIdUnique} UNIQUE (taskset_id)
      )`);
    await queryRunner.query(`ALTER TABLE ${T.groupTable} ALTER COLUMN id SET DEFAULT nextval('${T.groupSequence}')`);
  }
}

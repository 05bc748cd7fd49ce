import { MigrationInterface, QueryRunner } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames as T } from '../celery-table-names';
import { MIGRATION_LOCK_KEY } from './migration-lock';

const STRING = `character varying(${CELERY_STRING_LENGTH})`;

/**
 * Creates `celery_chord_counters` and `celery_chord_parts`, where workers of this module join
 * chords without polling (Python Celery ignores both tables and joins database-backend chords
 * with `celery.chord_unlock`). Idempotent, like every migration here.
 */
export class CreateCeleryChordCounters1765000000000 implements MigrationInterface {
  name = 'CreateCeleryChordCounters1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.chordCounterTable} (
        group_id ${STRING} NOT NULL,
        header_ids ${STRING}[] NOT NULL,
        finished integer NOT NULL DEFAULT 0,
        created_at timestamp with time zone NOT NULL DEFAULT now(),
        CONSTRAINT ${T.chordCounterPrimaryKey} PRIMARY KEY (group_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.chordPartTable} (
        group_id ${STRING} NOT NULL,
        task_id ${STRING} NOT NULL,
        CONSTRAINT ${T.chordPartPrimaryKey} PRIMARY KEY (group_id, task_id)
      )`);
  }

  /** Both tables are ours alone: dropping them loses only the chords running now. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${T.chordPartTable}`);
    await queryRunner.query(`DROP TABLE IF EXISTS ${T.chordCounterTable}`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';
import { MIGRATION_LOCK_KEY } from '../../backend/database/migrations/migration-lock';
import { BeatRunGuard as G, DjangoBeatTables as T } from './django-beat-tables';
import { createTriggerIfMissing } from '../../backend/database/migrations/create-trigger-if-missing';

/**
 * Keeps the runs a beat recorded when an ORM save writes back older ones. Django's admin (and any
 * `PeriodicTask.objects.get(…)` then `.save()`) reads a row, changes a field and saves every
 * column, `last_run_at` and `total_run_count` included. A run recorded between the read and the
 * save was undone: the count fell behind the messages sent, and the older `last_run_at` made the
 * schedule due again, so every beat fired it a second time. django-celery-beat has the same race
 * with its own scheduler; a trigger is the one place that sees every writer.
 *
 * A save lowering `total_run_count` to a non-zero value is such a stale save: the row keeps its
 * count and, when the save also moved `last_run_at` back, its `last_run_at`. Deliberate resets
 * still work: a count set to 0, a `last_run_at` set to NULL (what `PeriodicTask.save()` writes
 * when an admin disables a row) or moved with the count left alone.
 */
export class KeepDjangoBeatRecordedRuns1769000000000 implements MigrationInterface {
  name = 'KeepDjangoBeatRecordedRuns1769000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ${G.function}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.total_run_count < OLD.total_run_count AND NEW.total_run_count > 0 THEN
          NEW.total_run_count := OLD.total_run_count;
          IF NEW.last_run_at < OLD.last_run_at THEN
            NEW.last_run_at := OLD.last_run_at;
          END IF;
        END IF;
        RETURN NEW;
      END
      $$`);
    await createTriggerIfMissing(queryRunner, { name: G.trigger, table: T.periodicTask, timing: 'BEFORE UPDATE', level: 'ROW', fn: G.function });
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS ${G.trigger} ON ${T.periodicTask}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${G.function}()`);
  }
}

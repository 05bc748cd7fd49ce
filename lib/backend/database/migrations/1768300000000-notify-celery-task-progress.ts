import { MigrationInterface, QueryRunner } from 'typeorm';
import { TaskState } from '../../../protocol/task-states';
import { CeleryTableNames as T, TASK_PROGRESS_CHANNEL } from '../celery-table-names';
import { MIGRATION_LOCK_KEY } from './migration-lock';
import { createTriggerIfMissing } from './create-trigger-if-missing';

/** Celery's own states, as SQL: a row in any other state is a custom one (`update_state(state='PROGRESS')`). */
const CELERY_STATES = Object.values(TaskState)
  .map((state) => `'${state}'`)
  .join(', ');

/**
 * Adds triggers on `celery_taskmeta` that NOTIFY `nestjs_celery_task_progress` when a task is
 * stored in a custom state (PROGRESS), and when a task in a custom state moves on (its final
 * state): `AsyncResult.watch()` is woken by them, whoever wrote the row — our worker or Python
 * Celery's `update_state`, which NOTIFYs nothing itself. Rows in Celery's own states only
 * (STARTED → SUCCESS, the hot path) fire nothing: the WHEN clauses keep the function from being
 * called for them. Idempotent, like every migration here.
 */
export class NotifyCeleryTaskProgress1768300000000 implements MigrationInterface {
  name = 'NotifyCeleryTaskProgress1768300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ${T.taskProgressFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${TASK_PROGRESS_CHANNEL}', json_build_array(NEW.task_id)::text);
        RETURN NULL;
      END
      $$`);
    // INSERT triggers cannot read OLD, hence two.
    const progress = { table: T.taskTable, level: 'ROW', fn: T.taskProgressFunction } as const;
    await createTriggerIfMissing(queryRunner, { ...progress, name: T.taskProgressInsertTrigger, timing: 'AFTER INSERT', condition: `NEW.status NOT IN (${CELERY_STATES})` });
    await createTriggerIfMissing(queryRunner, {
      ...progress,
      name: T.taskProgressUpdateTrigger,
      timing: 'AFTER UPDATE',
      condition: `NEW.status NOT IN (${CELERY_STATES}) OR OLD.status NOT IN (${CELERY_STATES})`,
    });
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS ${T.taskProgressInsertTrigger} ON ${T.taskTable}`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS ${T.taskProgressUpdateTrigger} ON ${T.taskTable}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${T.taskProgressFunction}()`);
  }
}

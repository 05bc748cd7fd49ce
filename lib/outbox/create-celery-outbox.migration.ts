import { MigrationInterface, QueryRunner } from 'typeorm';
import { MIGRATION_LOCK_KEY } from '../backend/database/migrations/migration-lock';
import { OUTBOX_ROUTE_LENGTH, OUTBOX_TASK_ID_LENGTH, OutboxTableNames as T } from './outbox-table';
import { createTriggerIfMissing } from '../backend/database/migrations/create-trigger-if-missing';

/**
 * Creates `celery_outbox` and the trigger that wakes the relays (NOTIFY, delivered on commit).
 * Idempotent like every migration here: safe on a fresh database, twice, or from several
 * processes at once (they serialise on the shared advisory lock).
 */
export class CreateCeleryOutbox1766000000000 implements MigrationInterface {
  name = 'CreateCeleryOutbox1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${T.table} (
        id bigserial NOT NULL,
        task_id character varying(${OUTBOX_TASK_ID_LENGTH}) NOT NULL,
        queue character varying(${OUTBOX_ROUTE_LENGTH}) NOT NULL,
        exchange character varying(${OUTBOX_ROUTE_LENGTH}) NOT NULL,
        routing_key character varying(${OUTBOX_ROUTE_LENGTH}) NOT NULL,
        properties json NOT NULL,
        body bytea NOT NULL,
        created_at timestamp with time zone NOT NULL DEFAULT now(),
        CONSTRAINT ${T.primaryKey} PRIMARY KEY (id)
      )`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ${T.notifyFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${T.channel}', '');
        RETURN NULL;
      END
      $$`);
    await createTriggerIfMissing(queryRunner, { name: T.notifyTrigger, table: T.table, timing: 'AFTER INSERT', level: 'STATEMENT', fn: T.notifyFunction });
  }

  /** The table is ours alone; dropping it loses the messages not relayed yet. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${T.table}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${T.notifyFunction}()`);
  }
}

/** The outbox's migrations, for `runCeleryMigrations()` in your own pipeline (docs/MIGRATIONS.md). */
export const celeryOutboxMigrations = [CreateCeleryOutbox1766000000000];

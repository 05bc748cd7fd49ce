import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { deleteOrphanedRecords, readLegacyMigrationRecords } from './legacy-migration-records';
import { holdMigrationLock } from './migration-lock';

/** Where our migrations are recorded: never the app's own `migrations` table, whose undo they would break. */
export const CELERY_MIGRATIONS_TABLE = 'celery_migrations';

/**
 * TypeORM's own columns for its migrations table, so TypeORM's CLI can keep this one too (a
 * DataSource with `migrationsTableName: 'celery_migrations'`) and either reads what the other wrote.
 */
const CREATE_MIGRATIONS_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS ${CELERY_MIGRATIONS_TABLE} (
    id SERIAL NOT NULL,
    "timestamp" bigint NOT NULL,
    name character varying NOT NULL,
    CONSTRAINT ${CELERY_MIGRATIONS_TABLE}_pkey PRIMARY KEY (id)
  )`;

/**
 * What to do when our migrations fail at start-up, for every error that wraps the failure.
 * `setting` is the option that turns the start-up run off, if the part has one.
 */
export function migrationsAdvice(setting: string | null): string {
  const instead = setting === null ? 'Or run them beforehand' : `Or set ${setting}: false and run them`;
  return (
    `Expected a database user allowed to create tables, sequences, indexes and triggers. ${instead} ` +
    'from your own migration pipeline with runCeleryMigrations() (see docs/MIGRATIONS.md).'
  );
}

/** One of our migration classes (`celeryResultMigrations`, `celeryOutboxMigrations`, `celeryDashboardMigrations`). */
export interface CeleryMigrationClass {
  new (): MigrationInterface;
  /** Names an earlier release recorded this migration under, before it was renamed. */
  readonly formerNames?: readonly string[];
}

interface PlannedMigration {
  readonly name: string;
  readonly timestamp: number;
  /** Its name and former names: any of them recorded by TypeORM means it ran. */
  readonly recordedAs: readonly string[];
  readonly instance: MigrationInterface;
}

/**
 * Runs those of `migrations` not yet recorded in `celery_migrations`, in the order given, in one
 * transaction, one process at a time, and returns the names it ran. With nothing to do it only
 * reads (no lock, no DDL), so it is cheap at every start.
 *
 * Pass a DataSource to run them on a connection of its own (what `migrationsRun: true` does at
 * start-up), or the QueryRunner of one of your own migrations to run them inside your migration
 * pipeline's transaction. Nothing is recorded in the app's `migrations` table; records an earlier
 * release left there are moved here (see docs/MIGRATIONS.md). The Django equivalent is
 * `manage.py migrate django_celery_results`: a library's migrations, tracked under its own app label.
 */
export async function runCeleryMigrations(target: DataSource | QueryRunner, migrations: readonly CeleryMigrationClass[]): Promise<string[]> {
  const planned = plan(migrations);
  const ownRunner = 'createQueryRunner' in target ? target.createQueryRunner() : null;
  const runner = ownRunner ?? (target as QueryRunner);
  try {
    if (ownRunner) await ownRunner.connect();
    if (await isUpToDate(runner, planned)) return [];
    return await holdMigrationLock(runner, () => runPending(runner, planned));
  } finally {
    await ownRunner?.release();
  }
}

/** In the order given, each name once: a set passed twice (`[...all, ...celeryOutboxMigrations]`) is harmless. */
function plan(migrations: readonly CeleryMigrationClass[]): PlannedMigration[] {
  const planned = new Map<string, PlannedMigration>();
  for (const Migration of migrations) {
    const instance = new Migration();
    const name = instance.name ?? Migration.name;
    if (!planned.has(name)) planned.set(name, { name, timestamp: Number(name.slice(-13)), recordedAs: [name, ...(Migration.formerNames ?? [])], instance });
  }
  return [...planned.values()];
}

/** Every migration recorded here and none left to move from the app's table: no lock, no write. */
async function isUpToDate(runner: QueryRunner, planned: readonly PlannedMigration[]): Promise<boolean> {
  const [{ exists }] = await runner.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [CELERY_MIGRATIONS_TABLE]);
  if (!exists) return false;
  const recorded = await recordedNames(runner);
  if (planned.some((migration) => !recorded.has(migration.name))) return false;
  const legacy = await readLegacyMigrationRecords(runner, planned.flatMap((migration) => migration.recordedAs), CELERY_MIGRATIONS_TABLE);
  return legacy.orphans.length === 0;
}

/**
 * Under the lock. A migration an earlier release recorded in the app's `migrations` table is
 * recorded here *without running again*: a record means it ran to its end in its transaction, and
 * running it again would take an ACCESS EXCLUSIVE lock on busy tables (`ALTER TABLE … IF NOT
 * EXISTS` takes it even when it changes nothing). Moving the record is safe because every one of
 * our migrations is idempotent (`CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, `CREATE OR
 * REPLACE FUNCTION`, triggers created only when missing): a record moved too early, or a
 * migration run twice, leaves the same schema.
 */
async function runPending(runner: QueryRunner, planned: readonly PlannedMigration[]): Promise<string[]> {
  await runner.query(CREATE_MIGRATIONS_TABLE_SQL);
  const recorded = await recordedNames(runner);
  const legacy = await readLegacyMigrationRecords(runner, planned.flatMap((migration) => migration.recordedAs), CELERY_MIGRATIONS_TABLE);
  const ran: string[] = [];
  for (const migration of planned) {
    if (recorded.has(migration.name)) continue;
    if (!migration.recordedAs.some((name) => legacy.found.has(name))) {
      await migration.instance.up(runner);
      ran.push(migration.name);
    }
    await runner.query(`INSERT INTO ${CELERY_MIGRATIONS_TABLE} ("timestamp", name) VALUES ($1, $2)`, [migration.timestamp, migration.name]);
  }
  await deleteOrphanedRecords(runner, legacy);
  return ran;
}

async function recordedNames(runner: QueryRunner): Promise<Set<string>> {
  const rows: { name: string }[] = await runner.query(`SELECT name FROM ${CELERY_MIGRATIONS_TABLE}`);
  return new Set(rows.map((row) => row.name));
}

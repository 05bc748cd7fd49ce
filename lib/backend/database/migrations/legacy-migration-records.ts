import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Records of our migrations that earlier releases left in the TypeORM `migrations` table of
 * the DataSource that ran them: our own (a `url` backend, the embedded database), which is the
 * app's table when the URL names the app's database, or the app's own when it listed our
 * migrations in its DataSource as the README then said.
 */
export interface LegacyMigrationRecords {
  /** That table as PostgreSQL names it, quoted where needed; null when there is none. */
  readonly table: string | null;
  /** The names asked about that are recorded there. */
  readonly found: ReadonlySet<string>;
  /**
   * Of those, the records the DataSource has no migration for: the app's `undoLastMigration()`
   * fails on them ("No migration … was found in the source code"), so they are moved to
   * `celery_migrations`. Records of migrations the app still lists are the app's and stay.
   */
  readonly orphans: readonly string[];
}

const NONE: LegacyMigrationRecords = { table: null, found: new Set(), orphans: [] };

/** Reads, without writing, which of `names` the DataSource's TypeORM migrations table records. */
export async function readLegacyMigrationRecords(runner: QueryRunner, names: readonly string[], ownTable: string): Promise<LegacyMigrationRecords> {
  const owner = dataSourceOf(runner);
  const table = quotedTableName(owner.options.migrationsTableName ?? 'migrations', (owner.options as { schema?: string }).schema);
  // Not ours, and TypeORM's shape (a `name` column): another tool may own a table called `migrations`.
  const rows: { table: string }[] = await runner.query(
    `SELECT to_regclass($1)::text AS table
     WHERE to_regclass($1) IS DISTINCT FROM to_regclass($2)
       AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'name' AND NOT attisdropped)`,
    [table, ownTable],
  );
  if (rows.length === 0) return NONE;
  const found = new Set<string>(
    (await runner.query(`SELECT name FROM ${rows[0].table} WHERE name::text = ANY($1)`, [[...names]])).map((row: { name: string }) => row.name),
  );
  const listed = new Set(owner.migrations.map((migration) => migration.name ?? migration.constructor.name));
  return { table: rows[0].table, found, orphans: [...found].filter((name) => !listed.has(name)) };
}

/** Deletes the orphaned records (in the caller's transaction, after they were recorded in `celery_migrations`). */
export async function deleteOrphanedRecords(runner: QueryRunner, records: LegacyMigrationRecords): Promise<void> {
  if (records.table === null || records.orphans.length === 0) return;
  await runner.query(`DELETE FROM ${records.table} WHERE name::text = ANY($1)`, [[...records.orphans]]);
}

/** TypeORM 1.x names it `dataSource` (`connection` is deprecated there); 0.3 has only `connection`. */
function dataSourceOf(runner: QueryRunner): DataSource {
  return (runner as { dataSource?: DataSource }).dataSource ?? runner.connection;
}

/** As TypeORM's PostgreSQL driver builds it: `"schema"."table"`, or `"table"` on the search path. */
function quotedTableName(table: string, schema: string | undefined): string {
  const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  return schema ? `${quote(schema)}.${quote(table)}` : quote(table);
}

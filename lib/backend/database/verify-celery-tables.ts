import type { DataSource } from 'typeorm';
import { ResultBackendConfigurationError } from '../../errors/result-backend-configuration.error';
import { CeleryTableNames as T } from './celery-table-names';
import { celeryResultSchema } from './celery-result-schema';

/**
 * Checks once, at connect time, that Celery's tables have every column our SQL uses, so a missing
 * migration fails `connect()` with advice rather than the first result store of a busy worker.
 */
export async function verifyCeleryTables(dataSource: DataSource): Promise<void> {
  const missing: string[] = [];
  for (const entity of celeryResultSchema().entities) {
    const metadata = dataSource.getMetadata(entity);
    const rows: { column_name: string }[] = await dataSource.query(
      `SELECT attname AS column_name FROM pg_attribute
       WHERE attrelid = to_regclass($1::text) AND attnum > 0 AND NOT attisdropped`,
      [metadata.tableName],
    );
    const present = new Set(rows.map((row) => row.column_name));
    if (present.size === 0) {
      missing.push(`table ${metadata.tableName}`);
      continue;
    }
    for (const column of metadata.columns) {
      if (!present.has(column.databaseName)) missing.push(`${metadata.tableName}.${column.databaseName}`);
    }
  }
  const sequences: { name: string | null }[] = await dataSource.query(
    `SELECT to_regclass($1::text)::text AS name UNION ALL SELECT to_regclass($2::text)::text`,
    [T.taskSequence, T.groupSequence],
  );
  if (sequences.some((row) => row.name === null)) missing.push(`sequence ${T.taskSequence} or ${T.groupSequence}`);
  if (missing.length > 0) {
    throw new ResultBackendConfigurationError(
      `Celery's result tables are incomplete: missing ${missing.join(', ')}. Expected the schema of ` +
        'celeryResultMigrations. Run them: migrationsRun: true (the default) runs them at start-up, or run ' +
        'runCeleryMigrations() from your own migration pipeline (docs/MIGRATIONS.md); a table created by ' +
        'Python without result_extended is completed by them too.',
    );
  }
}

/** Throws when the application's DataSource does not know our entities (so our SQL has no model). */
export function assertCeleryEntitiesRegistered(dataSource: DataSource): void {
  const missing = celeryResultSchema().entities.filter((entity) => !dataSource.hasMetadata(entity));
  if (missing.length > 0) {
    throw new ResultBackendConfigurationError(
      `The DataSource given to the result backend does not register ${missing.map((entity) => entity.name).join(', ')}. ` +
        'Expected Celery\'s result entities in it. Add `celeryResultEntities` (from nestjs-celery/typeorm) to its ' +
        '`entities`; the tables themselves are created by our migrations (migrationsRun, docs/MIGRATIONS.md).',
    );
  }
}

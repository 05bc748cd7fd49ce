import type { DataSource } from 'typeorm';
import { ResultBackendConnectionError } from '../../errors/result-backend-connection.error';
import { maskUrl } from '../../utils/mask-secrets';
import { CeleryLogger } from '../../utils/logger';
import { celeryResultSchema, newDataSource } from './celery-result-schema';
import { CREATE_CELERY_SEQUENCES_SQL } from './migrations/celery-sequences';
import { migrationsAdvice, runCeleryMigrations } from './migrations/run-celery-migrations';
import { describeDatabaseError } from './postgres-errors';
import { toNodePostgresUrl } from './postgres-url';

/** How a DataSource we create from a URL is set up. */
export interface UrlDataSourceSetup {
  migrationsRun: boolean;
  synchronize: boolean;
  logger: CeleryLogger;
}

/** Waiting longer than this for a first connection means the server is not there. */
/** How long opening a PostgreSQL connection may take (the pool's and the result listener's). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Creates and initialises a DataSource of our own for a PostgreSQL URL, then runs our migrations
 * and/or TypeORM synchronize as asked. Errors name the URL with its password masked.
 */
export async function openUrlDataSource(url: string, setup: UrlDataSourceSetup): Promise<DataSource> {
  const { entities, migrations } = celeryResultSchema();
  const dataSource = newDataSource({
    type: 'postgres',
    url: toNodePostgresUrl(url),
    entities,
    // No `migrations`: ours are recorded in celery_migrations, never in a `migrations` table that
    // is the app's own when this URL names the app's database (issue #14).
    applicationName: 'nestjs-celery result backend',
    connectTimeoutMS: CONNECT_TIMEOUT_MS,
    // Idle connections dropped by a server restart must not crash the process; the next query reconnects.
    poolErrorHandler: (error: unknown) =>
      setup.logger.warn(`Result backend connection to ${maskUrl(url)} failed: ${describeDatabaseError(error)}`),
  });
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new ResultBackendConnectionError(
      `Could not connect to the result database at ${maskUrl(url)}: ${describeDatabaseError(error)}. ` +
        'Expected a reachable PostgreSQL server and valid credentials; check that it runs and that the URL is right.',
      { cause: error },
    );
  }
  try {
    if (setup.migrationsRun) await runCeleryMigrations(dataSource, migrations);
    if (setup.synchronize) {
      // synchronize creates tables whose id DEFAULT needs the sequences, which it does not create.
      for (const statement of CREATE_CELERY_SEQUENCES_SQL) await dataSource.query(statement);
      await dataSource.synchronize();
    }
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw new ResultBackendConnectionError(
      `Could not prepare Celery's result tables at ${maskUrl(url)}: ${describeDatabaseError(error)}. ` +
        migrationsAdvice('migrationsRun'),
      { cause: error },
    );
  }
  return dataSource;
}

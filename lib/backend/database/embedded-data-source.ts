import type { DataSource } from 'typeorm';
import { ResultBackendConfigurationError } from '../../errors/result-backend-configuration.error';
import { loadOptionalPackage, requireOptionalPackages } from '../../utils/optional-package';
import { celeryResultSchema, newDataSource } from './celery-result-schema';
import { runCeleryMigrations } from './migrations/run-celery-migrations';

/** What needs PGlite, for the error when it is not installed. */
export const EMBEDDED_BACKEND = 'The embedded result backend (backend: embedded://)';

/** The packages the embedded database needs (optional peer dependencies of nestjs-celery). */
export function requireEmbeddedPackages(): void {
  requireOptionalPackages(['typeorm', '@electric-sql/pglite', 'typeorm-pglite'], EMBEDDED_BACKEND);
}

/** A use of the process's embedded database; `release()` closes it after the last user. */
export interface EmbeddedDataSourceLease {
  readonly dataSource: DataSource;
  release(): Promise<void>;
}

interface OpenEmbeddedDatabase {
  dataDir: string | undefined;
  ready: Promise<DataSource>;
  users: number;
}

/**
 * typeorm-pglite keeps one PGlite instance per process (a static singleton), so every embedded
 * backend in a process must share it: a producer and a worker in the same app then see the same
 * results, and the database closes when the last of them closes.
 */
let open: OpenEmbeddedDatabase | null = null;
/** The singleton must be fully closed before it is opened again, or the new open gets the dying instance. */
let closing: Promise<void> = Promise.resolve();

/**
 * Opens (or joins) the embedded PGlite database and brings Celery's tables up to date. `dataDir`
 * persists it on disk; without it the database lives in memory.
 */
export async function acquireEmbeddedDataSource(dataDir: string | undefined): Promise<EmbeddedDataSourceLease> {
  if (open && open.dataDir !== dataDir) {
    throw new ResultBackendConfigurationError(
      `An embedded result database is already open in this process (${describeDataDir(open.dataDir)}); ` +
        `another was asked for (${describeDataDir(dataDir)}). PGlite allows one per process. ` +
        'Use the same `embedded.dataDir` everywhere, or a PostgreSQL URL.',
    );
  }
  if (!open) {
    const opening: OpenEmbeddedDatabase = { dataDir, users: 0, ready: openDatabase(dataDir) };
    open = opening;
    opening.ready.catch(() => {
      if (open === opening) open = null;
    });
  }
  const current = open;
  current.users += 1;
  let dataSource: DataSource;
  try {
    dataSource = await current.ready;
  } catch (error) {
    current.users -= 1;
    throw error;
  }
  let released = false;
  return {
    dataSource,
    release: async () => {
      if (released) return;
      released = true;
      current.users -= 1;
      if (current.users > 0) return;
      if (open === current) open = null;
      closing = dataSource.destroy();
      await closing;
    },
  };
}

async function openDatabase(dataDir: string | undefined): Promise<DataSource> {
  await closing.catch(() => undefined);
  const { PGliteDriver } = loadOptionalPackage<typeof import('typeorm-pglite')>('typeorm-pglite', EMBEDDED_BACKEND);
  const { entities, migrations } = celeryResultSchema();
  // No `migrations` in the DataSource: ours are run below and recorded in celery_migrations.
  const dataSource = newDataSource({ type: 'postgres', driver: new PGliteDriver(dataDir ? { dataDir } : {}).driver, entities }, EMBEDDED_BACKEND);
  await dataSource.initialize();
  // typeorm-pglite hands every query the same pool object, and TypeORM adds an 'error' listener
  // per query in flight: more than 10 concurrent queries are normal, not a leak.
  (dataSource.driver as unknown as { master?: { setMaxListeners?(count: number): void } }).master?.setMaxListeners?.(0);
  try {
    // Ours alone, so always brought up to date (recorded in celery_migrations, as everywhere).
    await runCeleryMigrations(dataSource, migrations);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}

/** How the embedded database is described in logs and errors. */
export function describeDataDir(dataDir: string | undefined): string {
  return dataDir ? `PGlite in ${dataDir}` : 'PGlite in memory';
}

import type { DataSource } from 'typeorm';
import { CeleryLogger } from '../../utils/logger';

/**
 * Options of the PostgreSQL result backend (Celery's `result_backend = 'db+postgresql://…'`).
 * Give at most one of `url`, `dataSource` and `embedded`; with none, an in-memory embedded
 * database is used (results then live only as long as the process).
 */
export interface DatabaseBackendOptions {
  /** `postgresql://`, `postgres://` or Celery's `db+postgresql://` form (Celery: `result_backend`). */
  url?: string;
  /**
   * Your application's own DataSource; it must list `celeryResultEntities`. Our `migrationsRun`
   * runs our migrations on it (recorded in `celery_migrations`, never in its `migrations` table);
   * its own `migrationsRun`/`synchronize` apply to its own migrations and entities. `close()` leaves it open.
   */
  dataSource?: DataSource;
  /** PGlite in this process (through typeorm-pglite): in memory, or persisted in `dataDir`. */
  embedded?: { dataDir?: string };
  /** Write the six `result_extended` columns (Celery: `result_extended`, default there: false). Default true. */
  extended?: boolean;
  /**
   * Run `celeryResultMigrations` on `connect()` (url or dataSource; the embedded database always
   * does), one process at a time, recorded in `celery_migrations`. False for teams whose schema
   * changes go through their own pipeline: see docs/MIGRATIONS.md. Default true.
   */
  migrationsRun?: boolean;
  /** TypeORM `synchronize` on `connect()` for a DataSource we create from `url`: development only. Default false. */
  synchronize?: boolean;
  /** Delete ready results this long after `date_done` (Celery: `result_expires`). 0 or null: never. Default 86400. */
  resultExpiresSeconds?: number | null;
  /** How often expired results are deleted (Celery beat's daily `celery.backend_cleanup`). Default 1 hour. */
  cleanupIntervalMs?: number;
  /** How long `storeResult` retries while PostgreSQL is unreachable before it throws. Default 60000. */
  storeRetryTimeoutMs?: number;
  /** The longest pause between two reads in `waitForResult` (Celery: `interval` of `get()`). Default 50. */
  pollIntervalMs?: number;
  logger?: CeleryLogger;
}

/** The options with every default applied: the one place the defaults live. */
export interface ResolvedDatabaseBackendOptions {
  extended: boolean;
  migrationsRun: boolean;
  synchronize: boolean;
  /** 0 when results never expire. */
  resultExpiresSeconds: number;
  cleanupIntervalMs: number;
  storeRetryTimeoutMs: number;
  pollIntervalMs: number;
}

/** Celery's defaults where it has the option (`result_expires` = 1 day), ours otherwise. */
export const DATABASE_BACKEND_DEFAULTS: ResolvedDatabaseBackendOptions = {
  extended: true,
  migrationsRun: true,
  synchronize: false,
  resultExpiresSeconds: 86_400,
  cleanupIntervalMs: 3_600_000,
  storeRetryTimeoutMs: 60_000,
  pollIntervalMs: 50,
};

/** Applies the defaults; `resultExpiresSeconds: null` means never, as Celery's `result_expires = None`. */
export function resolveDatabaseBackendOptions(options: DatabaseBackendOptions): ResolvedDatabaseBackendOptions {
  const defaults = DATABASE_BACKEND_DEFAULTS;
  return {
    extended: options.extended ?? defaults.extended,
    migrationsRun: options.migrationsRun ?? defaults.migrationsRun,
    synchronize: options.synchronize ?? defaults.synchronize,
    resultExpiresSeconds:
      options.resultExpiresSeconds === null ? 0 : (options.resultExpiresSeconds ?? defaults.resultExpiresSeconds),
    cleanupIntervalMs: options.cleanupIntervalMs ?? defaults.cleanupIntervalMs,
    storeRetryTimeoutMs: options.storeRetryTimeoutMs ?? defaults.storeRetryTimeoutMs,
    pollIntervalMs: options.pollIntervalMs ?? defaults.pollIntervalMs,
  };
}

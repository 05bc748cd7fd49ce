import type { DataSourceOptions } from 'typeorm';
import { loadOptionalPackage } from '../../utils/optional-package';
import type { celeryResultEntities } from './entities';
import type { celeryResultMigrations } from './migrations';

/** What needs TypeORM here, for the error when it is not installed. */
const NEEDED_BY = 'The PostgreSQL result backend';

/**
 * Celery's result entities and migrations, loaded when a database backend uses them: their TypeORM
 * decorators run as their modules load, and TypeORM is an optional peer dependency, so importing
 * nestjs-celery must not load them (the app's own list is `nestjs-celery/typeorm`, the same classes).
 */
export function celeryResultSchema(): { entities: typeof celeryResultEntities; migrations: typeof celeryResultMigrations } {
  loadOptionalPackage('typeorm', NEEDED_BY);
  return {
    entities: (require('./entities') as typeof import('./entities')).celeryResultEntities,
    migrations: (require('./migrations') as typeof import('./migrations')).celeryResultMigrations,
  };
}

/**
 * A new TypeORM DataSource (TypeORM loaded now, not when nestjs-celery is imported). For a
 * PostgreSQL server, pg is loaded first by loadOptionalPackage (which spares Node 20 pg's undici);
 * TypeORM's driver then finds it loaded.
 */
export function newDataSource(options: DataSourceOptions, neededBy = NEEDED_BY): import('typeorm').DataSource {
  const { DataSource } = loadOptionalPackage<typeof import('typeorm')>('typeorm', neededBy);
  if (options.type === 'postgres' && options.driver === undefined) loadOptionalPackage('pg', neededBy);
  return new DataSource(options);
}

import { CreateCeleryResultTables1732435200000 } from './1732435200000-create-celery-result-tables';

export { CreateCeleryResultTables1732435200000 };

/**
 * The migrations that create (or complete) Celery's result tables. Add them to your own
 * DataSource's `migrations` together with `celeryResultEntities`.
 */
export const celeryResultMigrations = [CreateCeleryResultTables1732435200000];

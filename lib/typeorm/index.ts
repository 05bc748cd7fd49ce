/*
 * nestjs-celery/typeorm: the entities and migrations to add to your own TypeORM DataSource, as
 * with @nestjs/typeorm, so the result backend, the outbox and the dashboard's history share its
 * connection (`backend: { type: 'postgres', dataSource }`). Importing it loads TypeORM (their
 * decorators need it), which is why they are not in the root entry point.
 */

// Celery's result tables (celery_taskmeta, celery_tasksetmeta) and ours (revoked tasks, chord counters).
export { celeryResultEntities, GroupResultEntity, RevokedTaskEntity, TaskResultEntity } from '../backend/database/entities';
export { celeryResultMigrations } from '../backend/database/migrations';
// Our migrations from your own pipeline (migrationsRun: false), recorded in celery_migrations: docs/MIGRATIONS.md.
export { runCeleryMigrations } from '../backend/database/migrations/run-celery-migrations';

// The transactional outbox's table (outbox: { dataSource, migrationsRun: false }).
export { CeleryOutboxEntity } from '../outbox/celery-outbox.entity';
export { celeryOutboxMigrations, CreateCeleryOutbox1766000000000 } from '../outbox/create-celery-outbox.migration';

// The dashboard's task history.
export { celeryDashboardEntities, TaskHistoryEntity } from '../monitoring/history/task-history.entity';
export { celeryDashboardMigrations, CreateCeleryTaskHistory1767000000000 } from '../monitoring/history/create-task-history.migration';

// The beat's tables: django-celery-beat's (created when Django has not), our NOTIFY triggers and the guard of recorded runs (beat: { migrationsRun: false }).
export { celeryBeatMigrations } from '../beat/store/beat-migrations';
export { CreateDjangoCeleryBeatTables1768000000000 } from '../beat/store/create-django-beat-tables.migration';
export { KeepDjangoBeatRecordedRuns1769000000000 } from '../beat/store/keep-recorded-runs.migration';

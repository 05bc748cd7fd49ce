import { CreateCeleryResultTables1732435200000 } from './1732435200000-create-celery-result-tables';
import { CreateCeleryRevokedTasks1764000000000 } from './1764000000000-create-celery-revoked-tasks';
import { CreateCeleryChordCounters1765000000000 } from './1765000000000-create-celery-chord-counters';
import { CeleryDateDoneIndexes1768000000000 } from './1768000000000-celery-date-done-indexes';
import { NotifyCeleryTaskProgress1768300000000 } from './1768300000000-notify-celery-task-progress';

export {
  CreateCeleryResultTables1732435200000,
  CreateCeleryRevokedTasks1764000000000,
  CreateCeleryChordCounters1765000000000,
  CeleryDateDoneIndexes1768000000000,
  NotifyCeleryTaskProgress1768300000000,
};

/**
 * The migrations that create (or complete) Celery's result tables, our own revoked-task and
 * chord-counter tables, and the triggers that announce progress. The backend runs them at start-up (`migrationsRun`); to run them from your
 * own migration pipeline instead, pass them to `runCeleryMigrations()` (docs/MIGRATIONS.md).
 */
export const celeryResultMigrations = [
  CreateCeleryResultTables1732435200000,
  CreateCeleryRevokedTasks1764000000000,
  CreateCeleryChordCounters1765000000000,
  CeleryDateDoneIndexes1768000000000,
  NotifyCeleryTaskProgress1768300000000,
];

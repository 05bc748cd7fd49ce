import { CeleryTableNames } from '../celery-table-names';

/**
 * Celery's id sequences. Python never gives the id columns a DEFAULT and calls `nextval` itself;
 * the tables' DEFAULT refers to them, so they must exist before the tables (also for
 * TypeORM `synchronize`, which does not create sequences).
 */
export const CREATE_CELERY_SEQUENCES_SQL: readonly string[] = [
  `CREATE SEQUENCE IF NOT EXISTS ${CeleryTableNames.taskSequence}`,
  `CREATE SEQUENCE IF NOT EXISTS ${CeleryTableNames.groupSequence}`,
];

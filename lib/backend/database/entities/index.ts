import { GroupResultEntity } from './group-result.entity';
import { RevokedTaskEntity } from './revoked-task.entity';
import { TaskResultEntity } from './task-result.entity';

export { GroupResultEntity, RevokedTaskEntity, TaskResultEntity };

/**
 * The entities of Celery's result tables, and of our revoked-task table. Add them to your own
 * DataSource's `entities` (with `celeryResultMigrations` in `migrations`) to share its
 * connection with the result backend.
 */
export const celeryResultEntities = [TaskResultEntity, GroupResultEntity, RevokedTaskEntity];

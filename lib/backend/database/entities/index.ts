import { GroupResultEntity } from './group-result.entity';
import { TaskResultEntity } from './task-result.entity';

export { GroupResultEntity, TaskResultEntity };

/**
 * The entities of Celery's result tables. Add them to your own DataSource's `entities` (with
 * `celeryResultMigrations` in `migrations`) to share its connection with the result backend.
 */
export const celeryResultEntities = [TaskResultEntity, GroupResultEntity];

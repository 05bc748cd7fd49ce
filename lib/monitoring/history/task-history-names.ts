/** The dashboard's own table (Python Celery and Flower never read it), named in one place. */
export const TaskHistoryNames = {
  table: 'celery_task_history',
  primaryKey: 'celery_task_history_pkey',
  updatedAtIndex: 'celery_task_history_updated_at_idx',
} as const;

/**
 * The names Python Celery's SQLAlchemy models use (celery/backends/database/models.py). They are
 * fixed: a Python client and this module must meet in the same table. The entities, the migration
 * and the SQL of the backend all read them from here.
 */
export const CeleryTableNames = {
  taskTable: 'celery_taskmeta',
  taskSequence: 'task_id_sequence',
  taskPrimaryKey: 'celery_taskmeta_pkey',
  taskIdUnique: 'celery_taskmeta_task_id_key',
  /** Celery 5.6's index of `date_done` (`index=True`), which lets expiry find old rows without a full scan. */
  taskDateDoneIndex: 'ix_celery_taskmeta_date_done',
  /** Our first migration's name for that index, renamed to Celery's by CeleryDateDoneIndexes1768000000000. */
  legacyTaskDateDoneIndex: 'celery_taskmeta_date_done_idx',
  /** Ours: keeps `result_json` from going stale when Python Celery rewrites `result`. */
  taskResultJsonTrigger: 'celery_taskmeta_result_json_stale',
  taskResultJsonFunction: 'celery_taskmeta_clear_stale_result_json',
  /** Ours: NOTIFY TASK_PROGRESS_CHANNEL of custom states (PROGRESS) and of the state after one. */
  taskProgressInsertTrigger: 'celery_taskmeta_progress_inserted',
  taskProgressUpdateTrigger: 'celery_taskmeta_progress_updated',
  taskProgressFunction: 'celery_taskmeta_notify_progress',
  groupTable: 'celery_tasksetmeta',
  groupSequence: 'taskset_id_sequence',
  groupPrimaryKey: 'celery_tasksetmeta_pkey',
  groupIdUnique: 'celery_tasksetmeta_taskset_id_key',
  /** Celery 5.6's index of the group table's `date_done`. */
  groupDateDoneIndex: 'ix_celery_tasksetmeta_date_done',
  /** Ours, ignored by Python: revoked task ids that outlive a worker restart. */
  revokedTable: 'celery_revoked_tasks',
  revokedPrimaryKey: 'celery_revoked_tasks_pkey',
  revokedAtIndex: 'celery_revoked_tasks_revoked_at_idx',
  /** Ours, ignored by Python: one row per running chord, counted by the worker that finishes each header task. */
  chordCounterTable: 'celery_chord_counters',
  chordCounterPrimaryKey: 'celery_chord_counters_pkey',
  /** Ours: the header tasks already counted, so a redelivered task is not counted twice. */
  chordPartTable: 'celery_chord_parts',
  chordPartPrimaryKey: 'celery_chord_parts_pkey',
} as const;

/**
 * The channel the progress triggers NOTIFY with `["<task id>"]` (the payload shape of our
 * writer's ready channel), which `AsyncResult.watch()` LISTENs on. Python Celery ignores it.
 */
export const TASK_PROGRESS_CHANNEL = 'nestjs_celery_task_progress';

/** Celery's `String(155)` columns: task ids, names, worker node names, routing keys. */
export const CELERY_STRING_LENGTH = 155;

import { CeleryTableNames as T } from './celery-table-names';

/**
 * The SQL of the revoked-task store (our `celery_revoked_tasks`, which Python ignores); every
 * value is a parameter.
 */
export const REVOKED_TASK_SQL = {
  /**
   * Params: ids (text[]), revoked_at (timestamptz). One statement for any number of ids; DISTINCT
   * because ON CONFLICT cannot touch the same row twice in one statement.
   */
  save: `
    INSERT INTO ${T.revokedTable} (task_id, revoked_at)
    SELECT DISTINCT unnest($1::varchar[]), $2::timestamptz
    ON CONFLICT (task_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at`,
  /**
   * Params: since (timestamptz). Returns the ids revoked since then, oldest first, and deletes
   * the older ones, which no worker refuses any more: the table stays as small as the window.
   */
  loadAndPurge: `
    WITH purged AS (DELETE FROM ${T.revokedTable} WHERE revoked_at < $1::timestamptz)
    SELECT task_id FROM ${T.revokedTable} WHERE revoked_at >= $1::timestamptz ORDER BY revoked_at`,
} as const;

import { CeleryTableNames as T } from './celery-table-names';

/** The SQL of the chord counters (our tables, which Python ignores); every value is a parameter. */
export const CHORD_COUNTER_SQL = {
  /** Params: group id, header ids (varchar[]). */
  create: `
    INSERT INTO ${T.chordCounterTable} (group_id, header_ids) VALUES ($1::varchar, $2::varchar[])
    ON CONFLICT (group_id) DO NOTHING`,
  /**
   * Params: group id, task id. One statement, so one transaction: the part is recorded (only for
   * a counted chord, only once per task) and the counter incremented under its row lock, which
   * serialises finishing tasks; the header ids come back only to the increment that reached the
   * total. A SELECT at the top, so the driver returns plain rows. No row: the task was already counted, or the chord is joined by chord_unlock.
   */
  count: `
    WITH part AS (
      INSERT INTO ${T.chordPartTable} (group_id, task_id)
      SELECT $1::varchar, $2::varchar WHERE EXISTS (SELECT 1 FROM ${T.chordCounterTable} WHERE group_id = $1::varchar)
      ON CONFLICT DO NOTHING
      RETURNING 1
    ), counted AS (
      UPDATE ${T.chordCounterTable} SET finished = finished + 1
      WHERE group_id = $1::varchar AND EXISTS (SELECT 1 FROM part)
      RETURNING CASE WHEN finished = cardinality(header_ids) THEN header_ids END AS header_ids
    )
    SELECT header_ids FROM counted`,
  /** Params: group id. */
  deleteParts: `DELETE FROM ${T.chordPartTable} WHERE group_id = $1::varchar`,
  deleteCounter: `DELETE FROM ${T.chordCounterTable} WHERE group_id = $1::varchar`,
} as const;

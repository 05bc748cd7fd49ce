import type { QueryRunner } from 'typeorm';

/** A trigger as our migrations create it: `CREATE TRIGGER name timing events ON table FOR EACH level [WHEN (condition)] EXECUTE FUNCTION fn()`. */
export interface TriggerDefinition {
  name: string;
  table: string;
  /** `BEFORE UPDATE`, `AFTER INSERT OR UPDATE OR DELETE`… */
  timing: string;
  level: 'ROW' | 'STATEMENT';
  /** The function to execute, without parentheses. */
  fn: string;
  /** A WHEN condition (row triggers only). */
  condition?: string;
}

/**
 * Creates the trigger only when the table has none by that name. Not DROP + CREATE: DROP TRIGGER
 * takes an ACCESS EXCLUSIVE lock on a table that may be busy (results being stored, Django's admin
 * saving schedules), and the migrations run again at every worker's start-up.
 */
export async function createTriggerIfMissing(queryRunner: QueryRunner, trigger: TriggerDefinition): Promise<void> {
  const when = trigger.condition === undefined ? '' : ` WHEN (${trigger.condition})`;
  await queryRunner.query(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${trigger.name}' AND tgrelid = '${trigger.table}'::regclass) THEN
        CREATE TRIGGER ${trigger.name} ${trigger.timing} ON ${trigger.table}
          FOR EACH ${trigger.level}${when} EXECUTE FUNCTION ${trigger.fn}();
      END IF;
    END
    $$`);
}

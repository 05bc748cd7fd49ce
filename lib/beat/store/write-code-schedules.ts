import type { EntityManager } from 'typeorm';
import type { CodeSchedule, CodeScheduleRow } from './code-schedule-rows';
import { bumpChangeMarkerSql, DjangoBeatSchema } from './django-beat-schema';
import { DjangoBeatTables as T, WRITE_SCHEDULES_LOCK_KEY } from './django-beat-tables';
import { CODE_TASK_COLUMNS, SCHEDULE_KINDS, SCHEDULE_TABLES } from './periodic-task-columns';

/**
 * Writes Nest code's schedules into django-celery-beat's tables, as Celery's DatabaseScheduler
 * writes `beat_schedule` (`update_or_create` by name): what code says replaces the row's task,
 * arguments, options and schedule; `enabled`, `last_run_at` and `total_run_count` stay as they
 * are, so an admin's "disabled" and the run history survive a deploy. Schedule rows are shared
 * when equal, as Django's `from_schedule` finds them. One beat writes at a time (advisory lock):
 * beats starting together create no duplicate schedule rows. The columns a later
 * django-celery-beat added are filled as its models would (`schema`). Returns how many tasks changed.
 */
export async function writeCodeSchedules(manager: EntityManager, rows: readonly CodeScheduleRow[], schema: DjangoBeatSchema): Promise<number> {
  if (rows.length === 0) return 0;
  await manager.query(`SELECT pg_advisory_xact_lock(${WRITE_SCHEDULES_LOCK_KEY})`);
  const upsert = upsertTaskSql(schema);
  let changed = 0;
  for (const row of rows) {
    const scheduleId = await findOrInsert(manager, row.schedule, schema);
    const ids = SCHEDULE_KINDS.map((kind) => (kind === row.schedule.kind ? scheduleId : null));
    const written: unknown[] = await manager.query(upsert, [...Object.keys(CODE_TASK_COLUMNS).map((field) => row[field as keyof typeof CODE_TASK_COLUMNS]), ...ids]);
    changed += written.length;
  }
  // What django-celery-beat's own scheduler watches to reload (PeriodicTasks.update_changed()).
  if (changed > 0) await manager.query(bumpChangeMarkerSql(schema));
  return changed;
}

/**
 * INSERT … ON CONFLICT (name) DO UPDATE of the code's columns and the four schedule keys, which
 * changes (and returns) a row only when something differs: a redeploy with the same code wakes no beat.
 */
function upsertTaskSql(schema: DjangoBeatSchema): string {
  const columns = [...Object.values(CODE_TASK_COLUMNS), ...SCHEDULE_KINDS.map((kind) => SCHEDULE_TABLES[kind].foreignKey)];
  const extras = Object.entries(schema.codeTaskColumns);
  const set = [...columns, ...extras.map(([column]) => column)].filter((column) => column !== 'name');
  const tuple = (prefix: string) => `(${set.map((column) => `${prefix}.${column}`).join(', ')})`;
  return `
    INSERT INTO ${T.periodicTask} AS t (${[...columns, ...extras.map(([column]) => column)].join(', ')}, enabled, total_run_count, date_changed)
    VALUES (${[...columns.map((_, index) => `$${index + 1}`), ...extras.map(([, value]) => value)].join(', ')}, true, 0, now())
    ON CONFLICT (name) DO UPDATE SET ${set.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}, date_changed = now()
    WHERE ${tuple('t')} IS DISTINCT FROM ${tuple('EXCLUDED')}
    RETURNING t.id`;
}

/** The id of an equal schedule row, or of one inserted (with `updated_at` where the table has it). */
async function findOrInsert(manager: EntityManager, schedule: CodeSchedule, schema: DjangoBeatSchema): Promise<number> {
  const { table } = SCHEDULE_TABLES[schedule.kind];
  const columns = Object.keys(schedule.values);
  const parameters: unknown[] = Object.values(schedule.values);
  const match = columns.map((column, index) => `${column} = $${index + 1}`).join(' AND ');
  const found: { id: number }[] = await manager.query(`SELECT id FROM ${table} WHERE ${match} ORDER BY id LIMIT 1`, parameters);
  if (found.length > 0) return found[0].id;
  const stamped = schema.updatedAtTables.has(table);
  const placeholders = [...columns.map((_, index) => `$${index + 1}`), ...(stamped ? ['now()'] : [])].join(', ');
  const inserted: { id: number }[] = await manager.query(`INSERT INTO ${table} (${[...columns, ...(stamped ? ['updated_at'] : [])].join(', ')}) VALUES (${placeholders}) RETURNING id`, parameters);
  return inserted[0].id;
}

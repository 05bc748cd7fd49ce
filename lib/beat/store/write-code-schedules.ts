import type { EntityManager } from 'typeorm';
import type { CodeScheduleRow } from './code-schedule-rows';
import { DjangoBeatTables as T, WRITE_SCHEDULES_LOCK_KEY } from './django-beat-tables';

/**
 * Writes Nest code's schedules into django-celery-beat's tables, as Celery's DatabaseScheduler
 * writes `beat_schedule` (`update_or_create` by name): what code says replaces the row's task,
 * arguments, options and schedule; `enabled`, `last_run_at` and `total_run_count` stay as they
 * are, so an admin's "disabled" and the run history survive a deploy. Schedule rows are shared
 * when equal, as Django's `from_schedule` finds them. One beat writes at a time (advisory lock):
 * beats starting together create no duplicate schedule rows. Returns how many tasks changed.
 */
export async function writeCodeSchedules(manager: EntityManager, rows: readonly CodeScheduleRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  await manager.query(`SELECT pg_advisory_xact_lock(${WRITE_SCHEDULES_LOCK_KEY})`);
  let changed = 0;
  for (const row of rows) {
    const ids = await scheduleIds(manager, row.schedule);
    const written: unknown[] = await manager.query(UPSERT_TASK_SQL, [
      row.name, row.task, row.args, row.kwargs, row.queue, row.exchange, row.routingKey, row.priority, row.headers,
      row.expireSeconds, row.oneOff, row.startTime, row.description, ids.interval, ids.crontab, ids.clocked, ids.solar,
    ]);
    changed += written.length;
  }
  if (changed > 0) {
    // What django-celery-beat's own scheduler watches to reload (PeriodicTasks.update_changed()).
    await manager.query(`INSERT INTO ${T.periodicTasksChanged} (ident, last_update) VALUES (1, now()) ON CONFLICT (ident) DO UPDATE SET last_update = now()`);
  }
  return changed;
}

const UPSERT_TASK_SQL = `
  INSERT INTO ${T.periodicTask} AS t (name, task, args, kwargs, queue, exchange, routing_key, priority, headers, expire_seconds,
    one_off, start_time, description, interval_id, crontab_id, clocked_id, solar_id, enabled, total_run_count, date_changed)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, true, 0, now())
  ON CONFLICT (name) DO UPDATE SET task = EXCLUDED.task, args = EXCLUDED.args, kwargs = EXCLUDED.kwargs, queue = EXCLUDED.queue,
    exchange = EXCLUDED.exchange, routing_key = EXCLUDED.routing_key, priority = EXCLUDED.priority, headers = EXCLUDED.headers,
    expire_seconds = EXCLUDED.expire_seconds, one_off = EXCLUDED.one_off, start_time = EXCLUDED.start_time,
    description = EXCLUDED.description, interval_id = EXCLUDED.interval_id, crontab_id = EXCLUDED.crontab_id,
    clocked_id = EXCLUDED.clocked_id, solar_id = EXCLUDED.solar_id, date_changed = now()
  WHERE (t.task, t.args, t.kwargs, t.queue, t.exchange, t.routing_key, t.priority, t.headers, t.expire_seconds, t.one_off,
    t.start_time, t.description, t.interval_id, t.crontab_id, t.clocked_id, t.solar_id)
    IS DISTINCT FROM (EXCLUDED.task, EXCLUDED.args, EXCLUDED.kwargs, EXCLUDED.queue, EXCLUDED.exchange, EXCLUDED.routing_key,
    EXCLUDED.priority, EXCLUDED.headers, EXCLUDED.expire_seconds, EXCLUDED.one_off, EXCLUDED.start_time, EXCLUDED.description,
    EXCLUDED.interval_id, EXCLUDED.crontab_id, EXCLUDED.clocked_id, EXCLUDED.solar_id)
  RETURNING t.id`;

async function scheduleIds(manager: EntityManager, schedule: CodeScheduleRow['schedule']): Promise<{ interval: number | null; crontab: number | null; clocked: number | null; solar: number | null }> {
  const none = { interval: null, crontab: null, clocked: null, solar: null };
  if (schedule.kind === 'interval') {
    return { ...none, interval: await findOrInsert(manager, T.interval, { every: schedule.every, period: schedule.period }) };
  }
  if (schedule.kind === 'crontab') {
    const { minute, hour, dayOfWeek, dayOfMonth, monthOfYear, timezone } = schedule;
    return {
      ...none,
      crontab: await findOrInsert(manager, T.crontab, { minute, hour, day_of_week: dayOfWeek, day_of_month: dayOfMonth, month_of_year: monthOfYear, timezone }),
    };
  }
  if (schedule.kind === 'solar') {
    const { event, latitude, longitude } = schedule;
    return { ...none, solar: await findOrInsert(manager, T.solar, { event, latitude, longitude }) };
  }
  return { ...none, clocked: await findOrInsert(manager, T.clocked, { clocked_time: schedule.at }) };
}

async function findOrInsert(manager: EntityManager, table: string, values: Record<string, unknown>): Promise<number> {
  const columns = Object.keys(values);
  const parameters = Object.values(values);
  const match = columns.map((column, index) => `${column} = $${index + 1}`).join(' AND ');
  const found: { id: number }[] = await manager.query(`SELECT id FROM ${table} WHERE ${match} ORDER BY id LIMIT 1`, parameters);
  if (found.length > 0) return found[0].id;
  const placeholders = columns.map((_, index) => `$${index + 1}`).join(', ');
  const inserted: { id: number }[] = await manager.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders}) RETURNING id`, parameters);
  return inserted[0].id;
}

import { BeatConfigurationError } from '../../errors/beat-configuration.error';
import { DjangoBeatTables as T } from './django-beat-tables';
import { requiredColumns, SCHEDULE_KINDS, SCHEDULE_TABLES } from './periodic-task-columns';

/**
 * What the django-celery-beat tables of this database look like, read from information_schema
 * at start-up. Released django-celery-beat 2.4.0 to 2.9.0 share one schema (their migrations
 * 0017–0019 change help texts, validators and Meta options only); the changes proposed upstream
 * since — `PeriodicTasks.last_update` renamed `last_change_marker`, an `updated_at` on each
 * schedule table, `PeriodicTask.from_configuration` (NOT NULL, no database default, as Django
 * adds a field) — are mapped here, so the beat reads and writes either. A column the beat needs
 * that is gone, or a NOT NULL column without a default that it cannot fill, fails start-up with
 * what to do, rather than every insert later.
 */
export interface DjangoBeatSchema {
  /** The column of `django_celery_beat_periodictasks` that Python's DatabaseScheduler watches: `last_update` or `last_change_marker`. */
  readonly changeMarkerColumn: string;
  /** Extra PeriodicTask columns filled when code inserts or updates a row (`from_configuration`: true, the code's `beat_schedule`). */
  readonly codeTaskColumns: Readonly<Record<string, SqlValue>>;
  /** Schedule tables with an `updated_at` column (auto_now upstream): set when code inserts a row, as Django would. */
  readonly updatedAtTables: ReadonlySet<string>;
}

/** A value written as SQL text: a literal the beat chooses, never user input. */
export type SqlValue = 'true' | 'false' | 'now()';

/** The schema django-celery-beat 2.4.0's migrations (and ours) create. */
export const DJANGO_BEAT_2_4_SCHEMA: DjangoBeatSchema = { changeMarkerColumn: 'last_update', codeTaskColumns: {}, updatedAtTables: new Set() };

const CHANGE_MARKER_COLUMNS = ['last_update', 'last_change_marker'];

/** Columns of later schemas the beat knows how to fill, by table. */
const KNOWN_EXTRA_TASK_COLUMNS: Record<string, SqlValue> = { from_configuration: 'true' };

interface ColumnInfo {
  table_name: string;
  column_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
}

export async function readDjangoBeatSchema(query: (sql: string, parameters: unknown[]) => Promise<unknown[]>): Promise<DjangoBeatSchema> {
  const tables = [T.periodicTask, T.periodicTasksChanged, ...SCHEDULE_KINDS.map((kind) => SCHEDULE_TABLES[kind].table)];
  const rows = (await query(
    `SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [tables],
  )) as ColumnInfo[];
  const columns = new Map<string, Map<string, ColumnInfo>>(tables.map((table) => [table, new Map()]));
  for (const row of rows) columns.get(row.table_name)?.set(row.column_name, row);

  const problems: string[] = [];
  const required = requiredColumns();
  for (const [table, needed] of required) {
    const present = columns.get(table)!;
    if (present.size === 0) {
      problems.push(`table ${table} is missing`);
      continue;
    }
    const missing = needed.filter((column) => !present.has(column));
    if (missing.length > 0) problems.push(`${table} has no column ${missing.join(', ')}`);
  }
  const markers = columns.get(T.periodicTasksChanged)!;
  const changeMarkerColumn = CHANGE_MARKER_COLUMNS.find((column) => markers.has(column));
  if (!changeMarkerColumn) problems.push(`${T.periodicTasksChanged} has neither ${CHANGE_MARKER_COLUMNS.join(' nor ')}`);

  const codeTaskColumns: Record<string, SqlValue> = {};
  const updatedAtTables = new Set<string>();
  for (const [table, present] of columns) {
    const known = new Set(required.get(table) ?? (table === T.periodicTasksChanged ? ['ident', changeMarkerColumn] : []));
    for (const column of present.values()) {
      if (known.has(column.column_name)) continue;
      if (table === T.periodicTask && column.column_name in KNOWN_EXTRA_TASK_COLUMNS) codeTaskColumns[column.column_name] = KNOWN_EXTRA_TASK_COLUMNS[column.column_name];
      else if (column.column_name === 'updated_at' && table !== T.periodicTask && table !== T.periodicTasksChanged) updatedAtTables.add(table);
      else if (column.is_nullable === 'NO' && column.column_default === null) {
        problems.push(`${table}.${column.column_name} is NOT NULL with no default, and the beat does not know what to write there`);
      }
    }
  }
  if (problems.length > 0) {
    throw new BeatConfigurationError(
      `django-celery-beat's tables are not a schema the beat knows (django-celery-beat 2.4.0 to 2.9.0, or the later changes docs/BEAT.md lists): ${problems.join('; ')}. ` +
        'Run `manage.py migrate django_celery_beat` to a release the beat knows, give a new NOT NULL column a default (ALTER TABLE … ALTER COLUMN … SET DEFAULT …), or let the beat create its tables in an empty database (beat.migrationsRun).',
    );
  }
  return { changeMarkerColumn: changeMarkerColumn!, codeTaskColumns, updatedAtTables };
}

/** `UPDATE`/`INSERT` of the change marker Python's DatabaseScheduler watches (`PeriodicTasks.changed()`). */
export function bumpChangeMarkerSql(schema: DjangoBeatSchema): string {
  const column = schema.changeMarkerColumn;
  return `INSERT INTO ${T.periodicTasksChanged} (ident, ${column}) VALUES (1, clock_timestamp()) ON CONFLICT (ident) DO UPDATE SET ${column} = clock_timestamp()`;
}

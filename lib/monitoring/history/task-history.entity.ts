import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CELERY_STRING_LENGTH } from '../../backend/database/celery-table-names';
import { TaskHistoryNames } from './task-history-names';

/**
 * One task as the dashboard last saw it through Celery events (Flower keeps this in memory, or in
 * a shelve file with `--persistent`): the latest state, the event fields a monitor shows, and the
 * timeline. Written in batches by TaskHistoryWriter, read back at start so the dashboard shows
 * tasks from before a restart. `args`, `kwargs`, `result` and `exception` are the Python reprs the
 * events carry.
 */
@Entity({ name: TaskHistoryNames.table })
@Index(TaskHistoryNames.updatedAtIndex, ['updatedAt'])
export class TaskHistoryEntity {
  @PrimaryColumn({ name: 'task_id', type: 'varchar', length: CELERY_STRING_LENGTH, primaryKeyConstraintName: TaskHistoryNames.primaryKey })
  taskId!: string;

  @Column({ type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 50 })
  state!: string;

  @Column({ type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  worker!: string | null;

  @Column({ type: 'text', nullable: true })
  args!: string | null;

  @Column({ type: 'text', nullable: true })
  kwargs!: string | null;

  @Column({ type: 'text', nullable: true })
  result!: string | null;

  @Column({ type: 'text', nullable: true })
  exception!: string | null;

  @Column({ type: 'text', nullable: true })
  traceback!: string | null;

  @Column({ type: 'integer', nullable: true })
  retries!: number | null;

  /** Seconds. */
  @Column({ type: 'double precision', nullable: true })
  runtime!: number | null;

  @Column({ name: 'received_at', type: 'timestamp with time zone', nullable: true })
  receivedAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamp with time zone', nullable: true })
  startedAt!: Date | null;

  /** The time of the event that set `state`. */
  @Column({ name: 'updated_at', type: 'timestamp with time zone' })
  updatedAt!: Date;

  /** `[{type, timestamp, hostname, exception?}]`, oldest first. */
  @Column({ type: 'jsonb' })
  timeline!: unknown[];

  /** The rest of the task as the dashboard shows it (eta, expires, workflow ids, every step's time…). */
  @Column({ type: 'jsonb' })
  details!: Record<string, unknown>;
}

/** The dashboard's entities, for your own DataSource's `entities` (with `celeryDashboardMigrations`). */
export const celeryDashboardEntities = [TaskHistoryEntity];

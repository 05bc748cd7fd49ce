import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames } from '../celery-table-names';

/**
 * One row of Celery's `celery_taskmeta` table (Celery's `TaskExtended` model): the latest stored
 * state of a task. Column names and types are exactly Python Celery's, so a Python client reads
 * what we write and we read what it writes.
 *
 * `group_id`, `parent_id` and `children` of the result meta have no column: Celery's database
 * backend does not keep them either (its `_update_result` writes only the table's columns).
 */
@Entity({ name: CeleryTableNames.taskTable })
@Unique(CeleryTableNames.taskIdUnique, ['taskId'])
@Index(CeleryTableNames.taskDateDoneIndex, ['dateDone'])
export class TaskResultEntity {
  /** Python inserts `nextval('task_id_sequence')` explicitly; the DEFAULT is ours, for SQL users. */
  @PrimaryColumn({
    type: 'integer',
    default: () => `nextval('${CeleryTableNames.taskSequence}')`,
    primaryKeyConstraintName: CeleryTableNames.taskPrimaryKey,
  })
  id!: number;

  @Column({ name: 'task_id', type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  taskId!: string | null;

  @Column({ type: 'varchar', length: 50, nullable: true })
  status!: string | null;

  /** A Python pickle of the result value (SQLAlchemy `PickleType`), whatever `result_serializer` is. */
  @Column({ type: 'bytea', nullable: true })
  result!: Buffer | null;

  /** Naive UTC, as Python's `datetime.utcnow()`; NULL for STARTED and RETRY. */
  @Column({ name: 'date_done', type: 'timestamp without time zone', nullable: true })
  dateDone!: Date | null;

  @Column({ type: 'text', nullable: true })
  traceback!: string | null;

  /** `result_extended` columns from here on. */
  @Column({ type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  name!: string | null;

  /** UTF-8 JSON text of the positional arguments (Celery encodes them with `result_serializer`). */
  @Column({ type: 'bytea', nullable: true })
  args!: Buffer | null;

  @Column({ type: 'bytea', nullable: true })
  kwargs!: Buffer | null;

  @Column({ type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  worker!: string | null;

  @Column({ type: 'integer', nullable: true })
  retries!: number | null;

  /** The delivery routing key, which Celery calls `queue`. */
  @Column({ type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  queue!: string | null;

  /**
   * Ours, ignored by Python: the result as JSON so it can be queried in SQL. NULL when the value
   * has no JSON form (bytes, big integers, Python objects) or when Python Celery wrote the row.
   */
  @Column({ name: 'result_json', type: 'jsonb', nullable: true })
  resultJson!: unknown;
}

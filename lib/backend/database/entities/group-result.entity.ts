import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames } from '../celery-table-names';

/**
 * One row of Celery's `celery_tasksetmeta` table (Celery's `TaskSet` model): a saved group, as
 * written by `GroupResult.save()` and read by `GroupResult.restore(group_id)`.
 */
@Entity({ name: CeleryTableNames.groupTable })
@Index(CeleryTableNames.groupDateDoneIndex, ['dateDone'])
@Unique(CeleryTableNames.groupIdUnique, ['groupId'])
export class GroupResultEntity {
  /** Python inserts `nextval('taskset_id_sequence')` explicitly; the DEFAULT is ours, for SQL users. */
  @PrimaryColumn({
    type: 'integer',
    default: () => `nextval('${CeleryTableNames.groupSequence}')`,
    primaryKeyConstraintName: CeleryTableNames.groupPrimaryKey,
  })
  id!: number;

  @Column({ name: 'taskset_id', type: 'varchar', length: CELERY_STRING_LENGTH, nullable: true })
  groupId!: string | null;

  /** A pickled `celery.result.GroupResult`. */
  @Column({ type: 'bytea', nullable: true })
  result!: Buffer | null;

  /** Naive UTC time the group was saved. */
  @Column({ name: 'date_done', type: 'timestamp without time zone', nullable: true })
  dateDone!: Date | null;
}

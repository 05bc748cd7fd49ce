import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CELERY_STRING_LENGTH, CeleryTableNames } from '../celery-table-names';

/**
 * One revoked task id (ours, not Celery's: Python Celery ignores this table and keeps its revoked
 * ids in worker memory, or in a `--statedb` file). Workers of this module record every revoke
 * here and load the recent ones when they start, so a revoked task stays refused across restarts
 * and by every worker sharing the database.
 */
@Entity({ name: CeleryTableNames.revokedTable })
@Index(CeleryTableNames.revokedAtIndex, ['revokedAt'])
export class RevokedTaskEntity {
  @PrimaryColumn({ name: 'task_id', type: 'varchar', length: CELERY_STRING_LENGTH, primaryKeyConstraintName: CeleryTableNames.revokedPrimaryKey })
  taskId!: string;

  /** When it was last revoked; ids older than Celery's 3 hours are no longer refused. */
  @Column({ name: 'revoked_at', type: 'timestamp with time zone' })
  revokedAt!: Date;
}

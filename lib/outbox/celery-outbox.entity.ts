import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { OUTBOX_ROUTE_LENGTH, OUTBOX_TASK_ID_LENGTH, OutboxTableNames } from './outbox-table';

/**
 * One task message written in the sender's transaction and not yet relayed to the broker (the
 * transactional-outbox pattern; Celery has no equivalent). It holds the message exactly as
 * `CeleryClient.send` would publish it; the relay publishes it with a confirm, then deletes it.
 */
@Entity({ name: OutboxTableNames.table })
export class CeleryOutboxEntity {
  /** Relay order; a string because PostgreSQL's bigint does not fit a JS number. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: OutboxTableNames.primaryKey })
  id!: string;

  @Column({ name: 'task_id', type: 'varchar', length: OUTBOX_TASK_ID_LENGTH })
  taskId!: string;

  /** Declared before publishing, as `send` declares it. */
  @Column({ type: 'varchar', length: OUTBOX_ROUTE_LENGTH })
  queue!: string;

  @Column({ type: 'varchar', length: OUTBOX_ROUTE_LENGTH })
  exchange!: string;

  @Column({ name: 'routing_key', type: 'varchar', length: OUTBOX_ROUTE_LENGTH })
  routingKey!: string;

  /** AMQP properties and headers. `json`, not `jsonb`: the header order must survive the round trip. */
  @Column({ type: 'json' })
  properties!: Record<string, unknown>;

  @Column({ type: 'bytea' })
  body!: Buffer;

  @Column({ name: 'created_at', type: 'timestamp with time zone', default: () => 'now()' })
  createdAt!: Date;
}

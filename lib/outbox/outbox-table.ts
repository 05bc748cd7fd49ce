import { CELERY_STRING_LENGTH } from '../backend/database/celery-table-names';

/**
 * The outbox table's names (ours alone: Python Celery has no outbox). The entity, the migration
 * and the relay's SQL all read them from here.
 */
export const OutboxTableNames = {
  table: 'celery_outbox',
  primaryKey: 'celery_outbox_pkey',
  /** Fired once per inserting statement; PostgreSQL delivers it only when the transaction commits. */
  notifyFunction: 'celery_outbox_notify',
  notifyTrigger: 'celery_outbox_notify_relay',
  /** The LISTEN/NOTIFY channel the relays wait on. */
  channel: 'celery_outbox',
} as const;

/** Exchange names and routing keys: AMQP short strings, at most 255 bytes. */
export const OUTBOX_ROUTE_LENGTH = 255;
export { CELERY_STRING_LENGTH as OUTBOX_TASK_ID_LENGTH };

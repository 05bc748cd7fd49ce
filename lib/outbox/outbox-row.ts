import type { MessageProperties } from '../broker/broker.interface';
import type { PreparedTask } from '../client/celery-client';
import { OutboxTableNames as T } from './outbox-table';

/** A row of `celery_outbox` as the relay reads it (node-postgres: bigint as text, bytea as Buffer, json parsed). */
export interface OutboxRow {
  id: string;
  task_id: string;
  queue: string;
  exchange: string;
  routing_key: string;
  properties: MessageProperties;
  body: Buffer;
}

/** The INSERT of one prepared task, run on the caller's EntityManager (its transaction). */
export const INSERT_OUTBOX_ROW_SQL = `INSERT INTO ${T.table} (task_id, queue, exchange, routing_key, properties, body) VALUES ($1, $2, $3, $4, $5, $6)`;

/** Many prepared tasks in one INSERT (the beat writes a batch of due runs at once): one array per column. */
export const INSERT_OUTBOX_ROWS_SQL = `INSERT INTO ${T.table} (task_id, queue, exchange, routing_key, properties, body)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::json[], $6::bytea[])`;

/**
 * The oldest rows no other relay holds, locked until this relay's transaction ends: several
 * relays share the table without publishing the same row at the same time.
 */
export const CLAIM_OUTBOX_ROWS_SQL = `SELECT id, task_id, queue, exchange, routing_key, properties, body FROM ${T.table} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`;

export const DELETE_OUTBOX_ROWS_SQL = `DELETE FROM ${T.table} WHERE id = ANY($1::bigint[])`;

/** The INSERT parameters of a prepared task. Properties as JSON text, so their key order is kept. */
export function toOutboxParameters(prepared: PreparedTask): unknown[] {
  const { message } = prepared;
  return [prepared.taskId, prepared.queue, message.exchange, message.routingKey, JSON.stringify(message.properties), message.body];
}

/** The parameters of INSERT_OUTBOX_ROWS_SQL: the columns of each prepared task, column by column. */
export function toOutboxColumns(prepared: readonly PreparedTask[]): unknown[][] {
  const rows = prepared.map(toOutboxParameters);
  return [0, 1, 2, 3, 4, 5].map((column) => rows.map((row) => row[column]));
}

/** The prepared task a row holds, ready for `CeleryClient.publishPrepared`. */
export function fromOutboxRow(row: OutboxRow): PreparedTask {
  const properties = typeof row.properties === 'string' ? (JSON.parse(row.properties) as MessageProperties) : row.properties;
  const body = Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body as Uint8Array);
  return { taskId: row.task_id, queue: row.queue, message: { exchange: row.exchange, routingKey: row.routing_key, properties, body } };
}

import type { ExchangeDeclaration } from '../broker/broker.interface';

/**
 * Celery's events exchange (`event_exchange`, celery-protocol.md §1.1): a durable topic exchange,
 * declared exactly as Python declares it so neither side is refused with PRECONDITION_FAILED.
 */
export const EVENT_EXCHANGE: ExchangeDeclaration = { name: 'celeryev', type: 'topic', durable: true, autoDelete: false };

/** Routing key of a batch of task events (Celery's `<group>.multi` for the buffered `task` group). */
export const TASK_BATCH_ROUTING_KEY = 'task.multi';

/** An event's routing key: its type with `-` as `.` (`worker-heartbeat` → `worker.heartbeat`), as Celery's Dispatcher. */
export function eventRoutingKey(type: string): string {
  return type.replace(/-/g, '.');
}

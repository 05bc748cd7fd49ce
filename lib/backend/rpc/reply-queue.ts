import type { QueueDeclaration } from '../../broker/broker.interface';

/**
 * The client's reply queue exactly as Celery's rpc:// client declares it (`RPCBackend.binding`):
 * named after the client, non-durable, auto-deleted when its consumer goes, not exclusive,
 * reached only through the default exchange, and with `x-expires` = `result_expires` in ms
 * (Fx rpc_worker_topology_after_client_activity: `false true false [{"x-expires",86400000}]`).
 */
export function replyQueueDeclaration(name: string, expiresMs: number | null): QueueDeclaration {
  return {
    name,
    durable: false,
    exclusive: false,
    autoDelete: true,
    arguments: expiresMs === null ? {} : { 'x-expires': expiresMs },
  };
}

import type { TaskRegistry } from '../../task/task-registry';
import type { CeleryLogger } from '../../utils/logger';
import type { ChildToParent, ParentToChild } from './pool-messages';
import { PoolChildServer } from './pool-child-server';

/**
 * In a pool child, once the application is created: serve the parent's jobs over the IPC channel
 * and tell it this child is ready. The child ends with its parent (the channel closes).
 */
export function servePoolChild(registry: TaskRegistry, logger: CeleryLogger): void {
  const send = (message: ChildToParent) => process.send!(message);
  const server = new PoolChildServer(registry, logger, send);
  process.on('message', (message: ParentToChild) => server.receive(message));
  process.once('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

import { ControlCommand, NO_REPLY, ok, requireArguments } from '../control-command';
import { queueInfo } from '../queue-info';
import { workerStats } from '../worker-stats';

/**
 * Celery's commands about the node itself (`celery inspect ping|stats|active_queues|conf|clock|
 * report`, `celery status`, `celery control shutdown`, and mingle's `hello`).
 */
export const NODE_COMMANDS: Record<string, ControlCommand> = {
  ping: () => ok('pong'),

  clock: ({ clock }) => ({ clock: clock.value }),

  report: ({ worker }) =>
    ok(
      `software -> nestjs-celery (Celery 5.2.6 protocol) node:${process.version}\n` +
        `platform -> system:${process.platform} arch:${process.arch}\n` +
        `worker -> hostname:${worker.hostname} concurrency:${worker.options.concurrency} queues:${worker.consumedQueues().map((queue) => queue.name).join(',')}`,
    ),

  stats: (context) => workerStats(context),

  /** The queues consumed now: those of worker.queues and add_consumer's, less cancel_consumer's. */
  active_queues: ({ worker }) => worker.consumedQueues().map(queueInfo),

  /** The app's settings in Celery's names, secrets masked; `with_defaults` is not supported and ignored. */
  conf: ({ settings }) => settings,

  /**
   * Mingle (a starting Python worker asks every node for its revoked ids and clock): their ids
   * join ours, and we answer with an empty revoked set, which Celery accepts (celery-protocol.md
   * §9.3); our own hello gets null, as in Celery.
   */
  hello: async ({ worker, clock, logger }, args) => {
    requireArguments('hello', args, ['from_node']);
    if (args.from_node === worker.hostname) return null;
    logger.log(`sync with ${String(args.from_node)}`);
    const revoked = args.revoked;
    if (revoked && typeof revoked === 'object' && !Array.isArray(revoked) && Object.keys(revoked).length > 0) {
      await worker.revoke(Object.keys(revoked));
    }
    return { revoked: {}, clock: clock.forward() };
  },

  /** Warm shutdown, no reply (Celery raises WorkerShutdown before replying). */
  shutdown: ({ requestShutdown, logger }, { msg }) => {
    logger.warn(typeof msg === 'string' ? msg : 'Got shutdown from remote');
    requestShutdown();
    return NO_REPLY;
  },
};

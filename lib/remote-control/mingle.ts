import type { ControlClient, ControlReply } from '../control/control-client';
import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';

/** How long a starting worker collects the other workers' answers: Celery's Mingle asks with `inspect(timeout=1.0)`. */
export const MINGLE_TIMEOUT_MS = 1_000;

/**
 * kombu's W_PIDBOX_IN_USE (kombu/pidbox.py), word for word (less its last newline): what a Celery 5.2.6 worker prints at
 * start-up when a live node already has its name. On RabbitMQ the two share one mailbox queue,
 * `<nodename>.celery.pidbox`, so each remote-control request reaches only one of them.
 */
export function nodenameInUseWarning(nodename: string): string {
  return (
    `A node named ${nodename} is already using this process mailbox!\n\n` +
    'Maybe you forgot to shutdown the other node or did not do so properly?\n' +
    'Or if you meant to start multiple nodes on the same host please make sure\n' +
    'you give each node a unique node name!'
  );
}

/** The worker as Mingle needs it; CeleryWorker fits. */
export interface MinglingWorker {
  readonly hostname: string;
  revoke(ids: readonly string[]): Promise<unknown>;
}

export interface MingleDependencies {
  /** The app's remote-control client: the hello goes out and its answers come back through it. */
  control: Pick<ControlClient, 'broadcast'>;
  worker: MinglingWorker;
  clock: LamportClock;
  logger: CeleryLogger;
  /** Default MINGLE_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * Celery's Mingle step (celery/worker/consumer/mingle.py): before a starting worker consumes any
 * task, it broadcasts `hello` with its node name and waits a second for the other workers'
 * answers; each answer's revoked ids join this worker's, and its clock moves past theirs. It runs
 * before this worker's own mailbox is consumed, so an answer under this worker's own name comes
 * from another live node of that name: the warning Celery prints then is logged (Celery itself
 * only prints it on RabbitMQ, when it declares the mailbox queue and finds a consumer there; the
 * hello finds the other node on every broker). Python workers and ours answer hello alike
 * (remote-control/commands/node-commands.ts).
 *
 * Our own revoked ids are offered neither here nor in our answer to another worker's hello: Python
 * reads the values of that dict as float timestamps on its own monotonic clock, which a Node
 * process cannot give. A revoke still reaches every worker alive when it is sent; only a worker
 * starting later misses what our workers alone remember.
 */
export class Mingle {
  constructor(private readonly deps: MingleDependencies) {}

  async sync(): Promise<void> {
    const { control, worker, logger, timeoutMs = MINGLE_TIMEOUT_MS } = this.deps;
    logger.log('mingle: searching for neighbors');
    let replies: ControlReply[];
    try {
      replies = await control.broadcast('hello', { from_node: worker.hostname, revoked: {} }, { reply: true, timeout: timeoutMs });
    } catch (error) {
      // A worker that cannot mingle still works (Celery logs the failure and goes on too).
      logger.warn(`mingle: could not ask the other workers: ${(error as Error)?.message ?? String(error)}`);
      return;
    }
    const neighbours: [string, Record<string, unknown>][] = [];
    let nameTaken = false;
    for (const reply of replies) {
      for (const [nodename, value] of Object.entries(reply)) {
        if (nodename === worker.hostname) nameTaken = true;
        else if (value && typeof value === 'object') neighbours.push([nodename, value as Record<string, unknown>]);
      }
    }
    if (nameTaken) logger.warn(nodenameInUseWarning(worker.hostname));
    if (neighbours.length === 0) {
      logger.log('mingle: all alone');
      return;
    }
    logger.log(`mingle: sync with ${neighbours.length} nodes`);
    for (const [nodename, value] of neighbours) {
      try {
        await this.syncWithNode(value);
      } catch (error) {
        logger.error(`mingle: sync with ${nodename} failed: ${(error as Error)?.message ?? String(error)}`);
      }
    }
    logger.log('mingle: sync complete');
  }

  /** Celery's `sync_with_node`: the clock moves past theirs (or on by one), their revoked ids become ours. */
  private async syncWithNode({ clock, revoked }: Record<string, unknown>): Promise<void> {
    if (typeof clock === 'number' && clock > 0) this.deps.clock.adjust(clock);
    else this.deps.clock.forward();
    if (revoked && typeof revoked === 'object' && !Array.isArray(revoked)) {
      const ids = Object.keys(revoked);
      if (ids.length > 0) await this.deps.worker.revoke(ids);
    }
  }
}

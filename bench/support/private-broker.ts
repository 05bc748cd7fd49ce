import { startPrivateRabbitMq } from '../../test/support/private-rabbitmq';
import { onCleanup } from './cleanup';
import { RabbitTools, pollUntil } from './rabbit';

/** A RabbitMQ node of one scenario's own, with its AMQP helpers; `stop()` ends it (clean-up does too). */
export interface PrivateBroker {
  url: string;
  /** The node's beam.smp, to read its CPU time. */
  pid: number;
  tools: RabbitTools;
  /** Resolves once the queue's messages in the broker's memory have stayed the same for `stableSeconds`. */
  settled(queue: string, stableSeconds?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The machine's RabbitMQ (3.10) started as a node of the scenario's own, its classic queues
 * storing messages as RabbitMQ 3.12 and later do: on version 2 storage (the only one 4.3 has) and
 * in lazy mode, which 3.12 made the only behaviour (messages to disk as they come, a few kept in
 * memory). 3.10's default instead holds a backlog in memory and moves it to disk while it is
 * being drained (v2), or reads it back from its queue index late in the drain (v1), at up to twice
 * the broker CPU per message (docs/PERFORMANCE.md, scenario 11): a phase of the broker's storage
 * that a million-task backlog times instead of us. A policy on the shared node would reconfigure
 * it for every other user.
 */
export async function startPrivateBroker(label: string): Promise<PrivateBroker> {
  const node = await startPrivateRabbitMq(label, ['classic_queue.default_version = 2']);
  const stopNode = onCleanup(`private RabbitMQ ${node.nodeName}`, () => node.stop());
  await node.ctl(['set_policy', '--apply-to', 'queues', 'as-3.12-and-later', '.*', JSON.stringify({ 'queue-mode': 'lazy' })]);
  const tools = await RabbitTools.open(node.url);
  const messagesInRam = async (queue: string) => {
    const listing = await node.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'messages_ram']);
    const line = listing.split('\n').find((row) => row.split('\t')[0] === queue);
    if (!line) throw new Error(`queue ${queue} is not on ${node.nodeName}`);
    return Number(line.split('\t')[1]);
  };
  return {
    url: node.url,
    pid: node.pid(),
    tools,
    settled: async (queue, stableSeconds = 5) => {
      let last = -1;
      let since = performance.now();
      await pollUntil(
        async () => {
          const now = await messagesInRam(queue);
          if (now !== last) [last, since] = [now, performance.now()];
          return performance.now() - since >= stableSeconds * 1000;
        },
        1_000,
        600_000,
        `the backlog of ${queue} to settle on the broker`,
      );
    },
    stop: async () => {
      await tools.close();
      await stopNode();
    },
  };
}

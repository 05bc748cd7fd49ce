/**
 * What RabbitMQ itself says about queues and consumers (`rabbitmqctl`), for tests that must show
 * where messages are and that a consumer's channel survived, not just what the client believes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Messages in a queue: ready, and delivered but not acknowledged. */
export interface QueueCounts {
  ready: number;
  unacknowledged: number;
}

/** Every queue of the default vhost with its message counts, by name. */
export async function queueCounts(): Promise<Map<string, QueueCounts>> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged']);
  const counts = new Map<string, QueueCounts>();
  for (const line of stdout.split('\n')) {
    const [name, ready, unacknowledged] = line.split('\t');
    if (name && ready !== undefined) counts.set(name, { ready: Number(ready), unacknowledged: Number(unacknowledged) });
  }
  return counts;
}

/** Messages waiting in Celery's delay queues `celery_delayed_0…27`, all levels together. */
export async function messagesInDelayQueues(): Promise<number> {
  let total = 0;
  for (const [name, counts] of await queueCounts()) if (/^celery_delayed_\d+$/.test(name)) total += counts.ready + counts.unacknowledged;
  return total;
}

/** The consumers of a queue as RabbitMQ lists them: the channel (Erlang pid) and tag of each. */
export async function consumersOf(queue: string): Promise<Array<{ channel: string; tag: string }>> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_consumers', 'queue_name', 'channel_pid', 'consumer_tag']);
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name]) => name === queue)
    .map(([, channel, tag]) => ({ channel, tag }));
}

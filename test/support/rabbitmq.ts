/**
 * Shared helpers for tests against the real RabbitMQ. A missing broker fails the tests with a
 * message saying how to start it; nothing is ever skipped.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type ChannelModel } from 'amqplib';
import { maskSecretsInText, maskUrl } from '../../lib/utils/mask-secrets';

const run = promisify(execFile);

/** The broker the integration tests use: $RABBITMQ_URL, or the local default (vhost "/"). */
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** `prefix` plus a random suffix, so test files (which run in parallel) never share a queue or exchange. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Throws a clear error when RabbitMQ cannot be reached; call it in beforeAll. */
export async function assertRabbitMqReachable(url: string = RABBITMQ_URL): Promise<void> {
  let connection: ChannelModel | undefined;
  try {
    connection = await connect(url, { timeout: 5000 });
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${maskUrl(url)} (${maskSecretsInText(String(error))}). ` +
        `These integration tests need it: start it with \`rabbitmq-server -detached\` (then check \`rabbitmqctl status\`), ` +
        `or set RABBITMQ_URL to a running broker.`,
    );
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Deletes queues (missing ones are fine) through a plain amqplib connection. */
export async function deleteQueues(...names: string[]): Promise<void> {
  await eachOnOwnChannel(names, (channel, name) => channel.deleteQueue(name));
}

/** Deletes exchanges (missing ones are fine) through a plain amqplib connection. */
export async function deleteExchanges(...names: string[]): Promise<void> {
  await eachOnOwnChannel(names, (channel, name) => channel.deleteExchange(name));
}

/**
 * Makes RabbitMQ close the connection whose client-provided name is `connectionName` (as a broker
 * restart or a network cut would, from the client's point of view). Only that connection: the
 * other test files' connections are left alone. Returns how many connections were closed.
 */
export async function forceCloseConnection(connectionName: string, reason = 'closed by test'): Promise<number> {
  const pids = await connectionPids(connectionName);
  for (const pid of pids) await run('rabbitmqctl', ['-q', 'close_connection', pid, reason]);
  return pids.length;
}

/** Erlang pids of the connections with that client-provided name, from `rabbitmqctl list_connections`. */
export async function connectionPids(connectionName: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties']);
  const marker = `{"connection_name","${connectionName}"}`;
  return stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0].trim())
    .filter((pid) => pid.startsWith('<'));
}

type ChannelWork = (channel: Awaited<ReturnType<ChannelModel['createChannel']>>, name: string) => Promise<unknown>;

async function eachOnOwnChannel(names: string[], work: ChannelWork): Promise<void> {
  if (names.length === 0) return;
  const connection = await connect(RABBITMQ_URL);
  try {
    for (const name of names) {
      // A failure closes the channel, so every name gets its own.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        await work(channel, name);
        await channel.close();
      } catch {
        // Already gone, or closed by the broker: nothing to clean up.
      }
    }
  } finally {
    await connection.close();
  }
}

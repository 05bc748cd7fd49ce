import { ChildProcess, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { createRedisClient, redisConnectionOptions } from '../../lib/broker/redis/redis-connection';
import { parseRedisUrl } from '../../lib/broker/redis/redis-url';
import { freeLocalPort } from '../support/redis';

/**
 * The broker's and result backend's command connections send the commands of one turn of the
 * event loop in one write (coalesce-command-writes.ts), as ioredis' auto-pipelining did, and every
 * command still gets its own reply. A private redis-server: its connection is ours alone.
 */
describe('Redis command connections: one write per turn of the event loop', () => {
  let server: ChildProcess;
  let url: string;
  const clients: Redis[] = [];

  beforeAll(async () => {
    const port = await freeLocalPort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}/0`;
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    server?.kill('SIGKILL');
  });

  /** A connected client and a count of the writes its socket makes from now on. */
  async function connectedClient(pipelined: boolean): Promise<{ client: Redis; writes: () => number }> {
    const client = createRedisClient(redisConnectionOptions(parseRedisUrl(url)), 'this test', pipelined);
    clients.push(client);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const socket = (client as unknown as { stream: { _write: (...args: unknown[]) => void; _writev?: (...args: unknown[]) => void } }).stream;
    let count = 0;
    for (const method of ['_write', '_writev'] as const) {
      const original = socket[method];
      if (!original) continue;
      socket[method] = function counted(this: unknown, ...args: unknown[]) {
        count += 1;
        return original.apply(this, args);
      };
    }
    return { client, writes: () => count };
  }

  it('sends 50 commands issued in one turn in one write, each with its own reply', async () => {
    const { client, writes } = await connectedClient(true);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, index) => client.lpush('coalesced', `message-${index}`)));
    expect(writes()).toBe(1);
    expect(replies).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    expect(await client.lrange('coalesced', 0, -1)).toEqual(Array.from({ length: 50 }, (_, index) => `message-${49 - index}`));
  });

  it('sends commands issued in later turns in writes of their own, without waiting for a next command', async () => {
    const { client, writes } = await connectedClient(true);
    await client.set('turn', '1');
    await client.set('turn', '2');
    expect(writes()).toBe(2);
    expect(await client.get('turn')).toBe('2');
  });

  it('leaves a connection that is not pipelined (BRPOP, SUBSCRIBE) writing command by command', async () => {
    const { client, writes } = await connectedClient(false);
    await Promise.all(Array.from({ length: 5 }, (_, index) => client.set(`plain-${index}`, 'x')));
    expect(writes()).toBe(5);
  });
});

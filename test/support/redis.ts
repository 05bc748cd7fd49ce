import { Redis } from 'ioredis';
import { type AddressInfo, createServer } from 'node:net';

/** The test Redis (`REDIS_URL` overrides); each spec uses a database number of its own. */
export const REDIS_HOST_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The URL of database `db` on the test Redis. */
export function redisUrl(db: number, query = ''): string {
  return `${REDIS_HOST_URL}/${db}${query}`;
}

/** A plain client on database `db`, for inspecting keys; fails (never skips) when Redis is down. */
export async function redisClient(db: number): Promise<Redis> {
  const client = new Redis(redisUrl(db), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

/** Closes every connection named `namePrefix…` (CLIENT KILL), as a network cut would; returns how many. */
export async function killRedisConnections(client: Redis, namePrefix: string): Promise<number> {
  const list = (await client.client('LIST')) as string;
  const ids = list
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=') as [string, string])))
    .filter((fields) => fields.name?.startsWith(namePrefix))
    .map((fields) => fields.id);
  for (const id of ids) await client.client('KILL', 'ID', id);
  return ids.length;
}

/** A TCP port free right now on 127.0.0.1 (the OS picks it), for a server a test starts itself. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

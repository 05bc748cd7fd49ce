import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * A throwaway PostgreSQL server of one test's own (initdb in a temporary directory, its own port,
 * trust authentication, `ssl = on` with the certificate given), for what the shared server must
 * not be reconfigured for. Runs as the `postgres` user when the tests run as root, as PostgreSQL
 * refuses root. Uses the Debian binaries that serve the shared server (/usr/lib/postgresql/<v>/bin).
 */
export interface PrivatePostgres {
  port: number;
  /** `postgresql://postgres@localhost:<port>/postgres` plus `query` (e.g. `sslmode=verify-full&sslrootcert=…`). */
  url(query?: string, password?: string): string;
  stop(): Promise<void>;
}

export async function startPrivatePostgres(tls: { certificatePath: string; keyPath: string }): Promise<PrivatePostgres> {
  const bin = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().pop()!, 'bin');
  const dir = mkdtempSync(join(tmpdir(), 'celery-private-pg-'));
  const asPostgres = process.getuid?.() === 0;
  const owner = asPostgres ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined;
  const run = (command: string, args: string[]): [string, string[]] => (asPostgres ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
  // PostgreSQL insists that its key is private to the user it runs as.
  for (const [from, to] of [[tls.certificatePath, 'server.crt'], [tls.keyPath, 'server.key']]) copyFileSync(from, join(dir, to));
  chmodSync(join(dir, 'server.key'), 0o600);
  if (owner !== undefined) for (const path of [dir, join(dir, 'server.crt'), join(dir, 'server.key')]) chownSync(path, owner, owner);

  const data = join(dir, 'data');
  execFileSync(...run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']), { stdio: 'pipe' });
  const port = await freePort();
  const server: ChildProcess = spawn(
    ...run(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
      '-c', 'ssl=on', '-c', `ssl_cert_file=${join(dir, 'server.crt')}`, '-c', `ssl_key_file=${join(dir, 'server.key')}`,
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  server.stdout!.on('data', (chunk) => (log += chunk));
  server.stderr!.on('data', (chunk) => (log += chunk));

  const url = (query = '', password?: string) => `postgresql://postgres${password ? `:${password}` : ''}@localhost:${port}/postgres${query ? `?${query}` : ''}`;
  const stop = async () => {
    // The postmaster's own pid (runuser stays in between): SIGINT is PostgreSQL's fast shutdown.
    let pid = 0;
    try {
      pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      // Not running (it failed to start, or stopped already).
    }
    if (pid > 0) process.kill(pid, 'SIGINT');
    if (server.exitCode === null && server.signalCode === null) await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new Client({ connectionString: url(), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline || server.exitCode !== null) {
        await stop().catch(() => undefined);
        throw new Error(`The private PostgreSQL server did not start: ${(error as Error).message}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { port, url, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, on a free port), for
 * tests that stop or restart the database, or need it configured otherwise (TLS): the shared
 * server on 5432 serves other test files at the same time and must never be touched.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { lookupUser } from './system-user';

const run = promisify(execFile);

const POSTGRES_BIN = process.env.POSTGRES_BIN_DIR ?? findPostgresBin();
/** initdb and postgres refuse to run as root: as root, run them as the package's user. */
const POSTGRES_USER = 'postgres';

export interface PrivatePostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres (trust auth) */
  url: string;
  port: number;
  /**
   * The same database by the name `localhost` (what a test certificate names, for
   * `sslmode=verify-full`), with a query such as `sslmode=require` and a password (ignored by trust auth).
   */
  urlWith(query?: string, password?: string): string;
  /** `pg_ctl stop -m fast`: every connection is closed, new ones are refused. */
  stopServer(): Promise<void>;
  /** `pg_ctl start`, waiting until it accepts connections. */
  startServer(): Promise<void>;
  /** `pg_ctl restart -m fast`. */
  restart(): Promise<void>;
  /** Stops the cluster and deletes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** Names the temporary directory. */
  label?: string;
  /** Serve TLS (`ssl = on`) with this certificate and key (PEM files). */
  tls?: { certificatePath: string; keyPath: string };
}

/** initdb (about 1 s, fsync off: the data is thrown away) and start. */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), `private-postgres-${options.label ?? 'test'}-`));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = await freePort();
  const owned = [dir];
  let tlsOptions = '';
  if (options.tls) {
    // PostgreSQL insists that its key is private to the user it runs as.
    copyFileSync(options.tls.certificatePath, join(dir, 'server.crt'));
    copyFileSync(options.tls.keyPath, join(dir, 'server.key'));
    chmodSync(join(dir, 'server.key'), 0o600);
    owned.push(join(dir, 'server.crt'), join(dir, 'server.key'));
    tlsOptions = ` -c ssl=on -c ssl_cert_file=${join(dir, 'server.crt')} -c ssl_key_file=${join(dir, 'server.key')}`;
  }
  if (userInfo().uid === 0) {
    const { uid, gid } = lookupUser(POSTGRES_USER);
    for (const path of owned) chownSync(path, uid, gid);
  }
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200${tlsOptions}`;
  const pgCtl = (args: string[]) => asPostgres('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '120', ...args]);
  let removed = false;
  const database: PrivatePostgres = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    urlWith: (query = '', password) => `postgresql://postgres${password ? `:${password}` : ''}@localhost:${port}/postgres${query ? `?${query}` : ''}`,
    stopServer: async () => void (await pgCtl(['-m', 'fast', 'stop'])),
    startServer: async () => void (await pgCtl(['-o', serverOptions, 'start'])),
    restart: async () => void (await pgCtl(['-m', 'fast', '-o', serverOptions, 'restart'])),
    stop: async () => {
      if (removed) return;
      removed = true;
      if (existsSync(join(dataDir, 'postmaster.pid'))) await pgCtl(['-m', 'immediate', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    await database.startServer();
  } catch (error) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    await database.stop();
    throw new Error(`The private PostgreSQL cluster did not start: ${(error as Error).message}\n${log}`);
  }
  return database;
}

function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.length > 0 ? join(root, versions[0], 'bin') : '/usr/lib/postgresql/15/bin';
}

async function asPostgres(program: string, args: string[]): Promise<string> {
  const command = join(POSTGRES_BIN, program);
  if (!existsSync(command)) {
    throw new Error(`${command} is missing (the fault suite runs a private cluster from it): install postgresql, or set POSTGRES_BIN_DIR.`);
  }
  const asRoot = userInfo().uid === 0;
  try {
    const { stdout } = await run(asRoot ? 'runuser' : command, asRoot ? ['-u', POSTGRES_USER, '--', command, ...args] : args, {
      cwd: tmpdir(),
      timeout: 150_000,
    });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${program} ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim()}`);
  }
}

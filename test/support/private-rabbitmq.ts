/**
 * A RabbitMQ node of the test's own, started from the machine's RabbitMQ install on free ports
 * with its data and logs in a temporary directory. Tests that stop, restart or reconfigure the
 * broker use one of these: the shared broker on 5672 serves other test files at the same time
 * and must never be touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { lookupUser } from './system-user';

const run = promisify(execFile);

/** The Debian package's scripts; /usr/sbin/rabbitmq-server would `su` and lose our environment. */
const RABBITMQ_BIN = process.env.RABBITMQ_BIN_DIR ?? '/usr/lib/rabbitmq/bin';
/** The package's user: it owns the Erlang cookie (~rabbitmq/.erlang.cookie) the node and its CLI share. */
const RABBITMQ_USER = 'rabbitmq';
const RABBITMQ_HOME = '/var/lib/rabbitmq';

export interface PrivateRabbitMq {
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string;
  nodeName: string;
  port: number;
  /** `rabbitmqctl stop_app`: the node stays up, AMQP is closed (every connection dropped). */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`, then waits until it accepts connections again. */
  startApp(): Promise<void>;
  /** Any rabbitmqctl command against this node, e.g. ['list_queues', 'name', 'messages']. */
  ctl(args: string[], timeoutMs?: number): Promise<string>;
  /** The node's OS process id (its pid file), to freeze it with SIGSTOP and thaw it with SIGCONT. */
  pid(): number;
  /** Stops the node and deletes its directory; safe to call twice, and after a failed start. */
  stop(): Promise<void>;
}

/** Nodes of one private cluster, the first the one the others joined. */
export interface PrivateRabbitCluster {
  nodes: PrivateRabbitMq[];
  stop(): Promise<void>;
}

/**
 * A private RabbitMQ cluster of `size` nodes on this machine (never the shared node): each
 * started as startPrivateRabbitMq() starts one, then joined to the first (`join_cluster`). They
 * share the package user's Erlang cookie, so they can cluster.
 */
export async function startPrivateRabbitCluster(size: number, label = 'cluster', extraConfig: readonly string[] = []): Promise<PrivateRabbitCluster> {
  const started = await Promise.allSettled(Array.from({ length: size }, (_, index) => startPrivateRabbitMq(`${label}${index + 1}`, extraConfig)));
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => void (await Promise.all(nodes.map((node) => node.stop())));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  try {
    for (const node of nodes.slice(1)) {
      await node.ctl(['stop_app']);
      await node.ctl(['join_cluster', nodes[0].nodeName], 120_000);
      await node.startApp();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}

/**
 * Starts a private node (about 5 s) and waits until it accepts AMQP connections. Its management
 * plugin is off (the shared node holds 15672); guest/guest works because clients use loopback.
 */
export async function startPrivateRabbitMq(label = 'faults', extraConfig: readonly string[] = []): Promise<PrivateRabbitMq> {
  assertInstalled();
  const dir = mkdtempSync(join(tmpdir(), `private-rabbitmq-${label}-`));
  const port = await freePort();
  const distPort = await freePort();
  const nodeName = `${label}-${process.pid}-${port}@localhost`;
  const pidFile = join(dir, 'rabbitmq.pid');
  writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.local = 127.0.0.1:${port}`, ...extraConfig, ''].join('\n'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env = {
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: pidFile,
  };
  giveToRabbitMqUser(dir);
  const ctl = (args: string[], timeoutMs = 60_000) => asRabbitMq('rabbitmqctl', ['-n', nodeName, ...args], {}, timeoutMs);
  let stopped = false;
  const broker: PrivateRabbitMq = {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    nodeName,
    port,
    ctl,
    stopApp: async () => void (await ctl(['stop_app'])),
    startApp: async () => {
      await ctl(['start_app'], 120_000);
      await ctl(['await_startup', '--timeout', '120'], 130_000);
    },
    pid: () => Number(readFileSync(pidFile, 'utf8').trim()),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await ctl(['stop'], 60_000).catch(() => undefined);
      // If the CLI could not reach it (it never started fully), the pid file still names it.
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await asRabbitMq('rabbitmq-server', ['-detached'], env, 30_000);
    // `wait` follows the pid file to a running node; await_startup then waits for the AMQP listener.
    await waitForFile(pidFile, 60_000);
    await ctl(['wait', pidFile, '--timeout', '120'], 130_000);
    await ctl(['await_startup', '--timeout', '120'], 130_000);
  } catch (error) {
    const log = readLog(dir, nodeName);
    await broker.stop();
    throw new Error(`The private RabbitMQ node ${nodeName} did not start: ${(error as Error).message}\n${log}`);
  }
  return broker;
}

function assertInstalled(): void {
  if (!existsSync(join(RABBITMQ_BIN, 'rabbitmq-server'))) {
    throw new Error(
      `RabbitMQ is not installed at ${RABBITMQ_BIN} (the fault suite starts a private node from it): ` +
        '`apt-get install -y rabbitmq-server`, or set RABBITMQ_BIN_DIR.',
    );
  }
}

/** As root, run the package's scripts as its user (its cookie, its file permissions); otherwise as we are. */
async function asRabbitMq(script: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  const command = join(RABBITMQ_BIN, script);
  const asRoot = userInfo().uid === 0;
  const file = asRoot ? 'runuser' : command;
  const fullArgs = asRoot ? ['-u', RABBITMQ_USER, '--', 'env', `HOME=${RABBITMQ_HOME}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args] : args;
  try {
    const { stdout } = await run(file, fullArgs, {
      cwd: asRoot ? RABBITMQ_HOME : undefined,
      env: asRoot ? process.env : { ...process.env, ...env },
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim().split('\n').slice(0, 6).join(' | ')}`);
  }
}

function giveToRabbitMqUser(dir: string): void {
  if (userInfo().uid !== 0) return;
  const { uid, gid } = lookupUser(RABBITMQ_USER);
  for (const path of [dir, join(dir, 'rabbitmq.conf'), join(dir, 'enabled_plugins')]) chownSync(path, uid, gid);
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readLog(dir: string, nodeName: string): string {
  const path = join(dir, 'log', `${nodeName}.log`);
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').split('\n').filter((line) => /error|crash/i.test(line)).slice(0, 10).join('\n');
}

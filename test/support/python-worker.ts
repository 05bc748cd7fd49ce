import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CELERY_PEER, PYTHON, pythonEnvironment, runPython } from './python-celery';
import { RABBITMQ_URL } from './rabbitmq';

/** test/python: the Celery app the worker runs (interop_tasks.py). */
export const INTEROP_PYTHON_DIR = join(__dirname, '..', 'python');

/** How interop_tasks.py configures its Celery app, in a worker or a client script alike. */
export interface InteropSettings {
  /** Python's `result_backend`: `rpc://` or `db+postgresql://…`. */
  resultBackend: string;
  /** Celery's `result_extended`. Default false, as in Celery. */
  resultExtended?: boolean;
  /** Declare task queues with this `x-max-priority` (Celery's `task_queue_max_priority`). */
  maxPriority?: number;
  /** Celery's `task_default_queue`, for clients. Default 'celery'. */
  defaultQueue?: string;
  /** Default: the test broker, RABBITMQ_URL. */
  brokerUrl?: string;
  /** Quorum task queues behind topic exchanges, classic delay levels: Celery 5.5+'s native delayed delivery. Default false. */
  quorumQueues?: boolean;
  /** Message signing, Celery's `security_*` settings and `setup_security()`: PEM file paths and the store directory. */
  security?: { key: string; certificate: string; certStore: string };
  /** Celery's `broker_transport_options` (SQS: region, visibility_timeout, wait_time_seconds…). */
  transportOptions?: Record<string, unknown>;
}

export interface PythonWorkerOptions extends InteropSettings {
  /** Queues to consume (`-Q`). */
  queues: string[];
  /** `solo` (default: starts fastest) or `prefork` (real pool processes). */
  pool?: 'solo' | 'prefork';
  /** Pool processes for prefork (`-c`). Default 2. */
  concurrency?: number;
  /** How long start-up may take before the worker is killed and the test fails. Default 30000. */
  readyTimeoutMs?: number;
  /** `-E` with heartbeats on: the worker sends task events and worker-online/heartbeat/offline, as monitors need. Default false. */
  events?: boolean;
  /** `-n`; default `interop-<random>@%h`, a name of its own. */
  nodename?: string;
}

/** A real `celery worker` (the peer Celery, celery-peer.ts) running test/python/interop_tasks.py. */
export interface PythonWorker {
  /** The node name it runs under, e.g. `interop-1a2b3c4d@host` (what `worker` columns and py.whoami report). */
  readonly nodename: string;
  /** Everything it has logged so far (stdout and stderr), for failure messages. */
  log(): string;
  /** Warm shutdown (SIGTERM), then SIGKILL for whatever is left of its process group. */
  stop(): Promise<void>;
}

const LOG_LIMIT = 200_000;
const STOP_GRACE_MS = 5_000;

/** Process groups of the workers still running, killed when this test process exits however it ends. */
const runningGroups = new Set<number>();
let exitHandlerInstalled = false;

/**
 * Starts a Python Celery worker and resolves once it logs "<nodename> ready.". A missing Python
 * Celery (or any start-up error) rejects with the worker's own output; it never skips.
 */
export async function startPythonWorker(options: PythonWorkerOptions): Promise<PythonWorker> {
  installExitHandler();
  const child = spawn(PYTHON, workerArguments(options), {
    cwd: INTEROP_PYTHON_DIR,
    env: workerEnvironment(options),
    // Its own process group, so stop() and the exit handler reach prefork pool children too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw await spawnError(child);
  runningGroups.add(pid);
  let log = '';
  const append = (chunk: string) => {
    log = (log + chunk).slice(-LOG_LIMIT);
    if (process.env.TEST_LOGS) process.stderr.write(chunk);
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8'); // a character split across two chunks stays whole
    stream.on('data', append);
  }
  // The group stays tracked after the worker exits: only killGroup() knows no child outlived it.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(pid), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    killGroup(pid); // prefork children that outlived their parent
  };

  try {
    const nodename = await waitUntilReady(child, () => log, options.readyTimeoutMs ?? 30_000);
    return { nodename, log: () => log, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function workerArguments(options: PythonWorkerOptions): string[] {
  const pool = options.pool ?? 'solo';
  return [
    '-m', 'celery', '-A', 'interop_tasks', 'worker',
    '-P', pool,
    ...(pool === 'prefork' ? ['-c', String(options.concurrency ?? 2)] : []),
    '-Q', options.queues.join(','),
    '-n', options.nodename ?? `interop-${randomBytes(4).toString('hex')}@%h`,
    // Mingle waits a second for other workers' replies, gossip and heartbeats chat with them: a
    // test worker needs none of it, and starts faster without.
    '--without-mingle', '--without-gossip',
    ...(options.events ? ['-E'] : ['--without-heartbeat']),
    '-l', 'info',
  ];
}

function workerEnvironment(options: PythonWorkerOptions): NodeJS.ProcessEnv {
  return pythonEnvironment({
    ...interopEnvironment(options),
    INTEROP_PARENT_PID: String(process.pid),
    PYTHONUNBUFFERED: '1', // the "ready." line must reach us at once
  });
}

function interopEnvironment(settings: InteropSettings): Record<string, string> {
  return {
    INTEROP_BROKER_URL: settings.brokerUrl ?? RABBITMQ_URL,
    INTEROP_RESULT_BACKEND: settings.resultBackend,
    INTEROP_RESULT_EXTENDED: settings.resultExtended ? '1' : '0',
    INTEROP_MAX_PRIORITY: settings.maxPriority === undefined ? '' : String(settings.maxPriority),
    INTEROP_DEFAULT_QUEUE: settings.defaultQueue ?? '',
    INTEROP_QUORUM: settings.quorumQueues ? '1' : '',
    INTEROP_SECURITY_KEY: settings.security?.key ?? '',
    INTEROP_SECURITY_CERTIFICATE: settings.security?.certificate ?? '',
    INTEROP_SECURITY_CERT_STORE: settings.security?.certStore ?? '',
    INTEROP_TRANSPORT_OPTIONS: settings.transportOptions ? JSON.stringify(settings.transportOptions) : '',
  };
}

/**
 * Runs a Python client script that can `from interop_tasks import add, echo, app…` to send tasks
 * the Celery way (`add.apply_async(...)`), configured like a worker would be. Returns its last
 * stdout line parsed as JSON.
 */
export async function runInteropClient<T = any>(script: string, settings: InteropSettings, timeoutMs = 60_000): Promise<T> {
  const output = await runPython(script, { env: interopEnvironment(settings), pythonPath: [INTEROP_PYTHON_DIR], timeoutMs });
  return JSON.parse(output.trim().split('\n').pop()!) as T;
}


/** Resolves with the node name from Celery's "<nodename> ready." line. */
function waitUntilReady(child: ChildProcess, log: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      const ready = /\] (\S+@\S+) ready\.\s*$/m.exec(log());
      if (ready) finish(() => resolve(ready[1]));
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(() => reject(new Error(`The ${CELERY_PEER.name} worker exited before it was ready (code ${code}, signal ${signal}).${hint(log())}\n${log()}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`The ${CELERY_PEER.name} worker was not ready after ${timeoutMs} ms.\n${log()}`))),
      timeoutMs,
    );
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

function hint(log: string): string {
  return /No module named '?celery/.test(log)
    ? '\nPython Celery is missing: apt-get install -y python3-celery python3-sqlalchemy python3-psycopg2'
    : '';
}

function spawnError(child: ChildProcess): Promise<Error> {
  return new Promise((resolve) =>
    child.once('error', (error) => resolve(new Error(`Could not start ${PYTHON} for the ${CELERY_PEER.name} worker: ${error.message}`))),
  );
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
  runningGroups.delete(pid);
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL per group is.
  process.on('exit', () => {
    for (const pid of runningGroups) killGroup(pid);
  });
}

/**
 * The worker's log without the error a Python worker started without heartbeats logs when any
 * monitor on the broker (a dashboard or alerts test running beside it, Flower, `celery events`)
 * broadcasts Celery's `heartbeat` wake-up: Celery 5.2.6's handler calls an event dispatcher such
 * a worker does not have. That traceback is Celery's own and says nothing about the test.
 */
export function withoutWakeUpErrors(log: string): string {
  return log.replace(/\[[^\]]*ERROR\/MainProcess\] pidbox command error: AttributeError\("'NoneType' object has no attribute 'send'"\)\n[\s\S]*?AttributeError: 'NoneType' object has no attribute 'send'\n/g, '');
}

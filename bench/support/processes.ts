import { ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig } from '../config';
import { onCleanup } from './cleanup';

/** bench/python, next to the compiled bench/ in dist/ or the sources. */
export const PYTHON_DIR = join(__dirname, '..', '..', '..', 'bench', 'python');

/** A worker process of the benchmark, ours or Python's. */
export interface WorkerProcess {
  readonly pid: number;
  /** Resident set size now and its peak (VmHWM), in MiB, of the main process only. */
  memory(): { rssMiB: number; peakMiB: number };
  log(): string;
  stop(): Promise<void>;
}

const LOG_LIMIT = 100_000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** How our worker child (bench/worker-process.ts) is set up. */
export interface NodeWorkerSettings {
  queue: string;
  /** false, 'rpc://' or a postgresql:// URL. */
  backend: false | string;
  ignoreResult: boolean;
  acksLate?: boolean;
  /** Default: the benchmark's RabbitMQ. */
  brokerUrl?: string;
  /** Where tasks run (worker.pool); default inline. */
  pool?: 'inline' | 'process';
  /** worker.concurrency; default 10. */
  concurrency?: number;
}

/** Our worker in its own Node.js process, as `npm run start:worker` would run it. */
export async function startNodeWorker(config: BenchConfig, settings: NodeWorkerSettings, nodeArguments: string[] = []): Promise<WorkerProcess> {
  const child = fork(join(__dirname, '..', 'worker-process.js'), [], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify({ brokerUrl: config.rabbitmqUrl, ...settings }) },
    execArgv: [...nodeArguments, ...config.workerNodeArguments],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return track(child, 'our worker', (resolve) =>
    child.on('message', (message: { ready?: boolean }) => {
      if (message?.ready) resolve();
    }),
  );
}

/** BullMQ's worker (bench/bullmq-worker-process.ts) on a Redis database, concurrency 10, as @nestjs/bullmq runs one. */
export async function startBullmqWorker(queue: string, connection: { host: string; port: number; db: number }): Promise<WorkerProcess> {
  const child = fork(join(__dirname, '..', 'bullmq-worker-process.js'), [], {
    env: { ...process.env, BENCH_BULLMQ: JSON.stringify({ queue, connection, concurrency: 10 }) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return track(child, 'BullMQ worker', (resolve) =>
    child.on('message', (message: { ready?: boolean }) => {
      if (message?.ready) resolve();
    }),
  );
}

/** bin/nestjs-celery-worker, next to the compiled bench/ in dist/ or the sources. */
const WORKER_CLI = join(__dirname, '..', '..', '..', 'bin', 'nestjs-celery-worker');

/**
 * Our worker through the worker CLI with `--processes <processes>` (its supervisor and N children,
 * each with bench/worker-module.ts, concurrency 10 and a node name of its own), ready once every
 * child said so. memory() is the supervisor's only.
 */
export async function startCliWorker(config: BenchConfig, settings: NodeWorkerSettings, processes: number): Promise<WorkerProcess> {
  const modulePath = join(__dirname, '..', 'worker-module.js');
  const args = ['--module', modulePath, '--export', 'BenchWorkerModule', '-Q', settings.queue, '-n', `${settings.queue}@%h`, '-P', String(processes), '-l', 'warning'];
  const child = spawn(process.execPath, [...config.workerNodeArguments, WORKER_CLI, ...args], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify({ brokerUrl: config.rabbitmqUrl, ...settings }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child, `our worker CLI -P ${processes}`, (resolve, log) => {
    const onData = () => {
      if ((log().match(/^nestjs-celery-worker: worker process \d+ \(pid \d+\) ready as /gm)?.length ?? 0) >= processes) resolve();
    };
    child.stderr!.on('data', onData);
  });
}

/** A bare amqplib consumer with manual acks (bench/raw-consumer-process.ts), the drain baseline. */
export async function startRawConsumer(config: BenchConfig, queue: string, prefetch: number): Promise<WorkerProcess> {
  const child = fork(join(__dirname, '..', 'raw-consumer-process.js'), [], {
    env: { ...process.env, BENCH_RAW_CONSUMER: JSON.stringify({ brokerUrl: config.rabbitmqUrl, queue, prefetch }) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return track(child, 'raw amqplib consumer', (resolve) =>
    child.on('message', (message: { ready?: boolean }) => {
      if (message?.ready) resolve();
    }),
  );
}

export type PythonPool = 'prefork' | 'solo';

/** A Python Celery 5.2.6 worker (`celery -A bench_tasks worker`) in its own process group. */
export async function startPythonWorker(
  config: BenchConfig,
  settings: { queue: string; pool: PythonPool; concurrency?: number; resultBackend: string; ignoreResult: boolean; brokerUrl?: string },
): Promise<WorkerProcess> {
  const args = ['-m', 'celery', '-A', 'bench_tasks', 'worker', '-P', settings.pool];
  if (settings.pool === 'prefork') args.push('-c', String(settings.concurrency ?? 2));
  args.push('-Q', settings.queue, '-n', `${settings.queue}@%h`, '--without-mingle', '--without-gossip', '--without-heartbeat', '-l', 'warning');
  const child = spawn(config.python, args, {
    cwd: PYTHON_DIR,
    env: { ...process.env, ...pythonEnvironment(config, settings.resultBackend, settings.ignoreResult, settings.brokerUrl) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child, `Python Celery -P ${settings.pool}`, (resolve, log) => {
    const onData = () => {
      if (log().includes('BENCH-WORKER-READY')) resolve();
    };
    // Celery sends print() through its logger, to stderr.
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

export function pythonEnvironment(config: BenchConfig, resultBackend: string, ignoreResult: boolean, brokerUrl = config.rabbitmqUrl): Record<string, string> {
  return {
    BENCH_BROKER_URL: brokerUrl,
    BENCH_RESULT_BACKEND: resultBackend,
    BENCH_IGNORE_RESULT: ignoreResult ? '1' : '0',
    BENCH_PARENT_PID: String(process.pid),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONPATH: PYTHON_DIR,
  };
}

/** Runs a Python script of bench/python and returns its last stdout line as JSON. */
export function runPythonScript<T>(config: BenchConfig, script: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(config.python, [join(PYTHON_DIR, script), ...args], { cwd: PYTHON_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const release = onCleanup(`python ${script}`, () => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-LOG_LIMIT)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      void release();
      if (code !== 0) return reject(new Error(`${script} exited with ${code ?? signal}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
      } catch (error) {
        reject(new Error(`${script} printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

function track(child: ChildProcess, label: string, watchReady: (resolve: () => void, log: () => string) => void): Promise<WorkerProcess> {
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`Could not start ${label}`));
  let log = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      log = (log + chunk).slice(-LOG_LIMIT);
      if (process.env.BENCH_LOGS) process.stderr.write(chunk);
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const detached = child.spawnargs[0] !== process.execPath;
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (detached) process.kill(-pid, signal);
      else child.kill(signal);
    } catch {
      // gone already
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    if (detached) kill('SIGKILL'); // pool processes that outlived their parent
  };
  const release = onCleanup(`${label} (pid ${pid})`, stop);
  const worker: WorkerProcess = {
    pid,
    memory: () => readMemory(pid),
    log: () => log,
    stop: release,
  };
  return new Promise<WorkerProcess>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${label} was not ready after ${READY_TIMEOUT_MS} ms:\n${log}`)), READY_TIMEOUT_MS);
    const onExit = (code: number | null) => fail(new Error(`${label} exited (code ${code}) before it was ready:\n${log}`));
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      void release().finally(() => reject(error));
    };
    child.once('exit', onExit);
    watchReady(() => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(worker);
    }, () => log);
  });
}

/** RSS and peak RSS (VmHWM) of a process, from /proc/<pid>/status. */
export function readMemory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** A beat of ours (bench/beat-process.ts) and how to ask it for the lag of each run it fired. */
export interface BeatProcess extends WorkerProcess {
  lagsMs(): Promise<number[]>;
}

/** One beat in its own Node.js process, on the benchmark's database, firing every row of django-celery-beat's tables. */
export async function startBeatProcess(config: BenchConfig, databaseUrl: string): Promise<BeatProcess> {
  const child = fork(join(__dirname, '..', 'beat-process.js'), [], {
    env: { ...process.env, BENCH_BEAT: JSON.stringify({ brokerUrl: config.rabbitmqUrl, databaseUrl }) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const beat = await track(child, 'our beat', (resolve) =>
    child.on('message', (message: { ready?: boolean }) => {
      if (message?.ready) resolve();
    }),
  );
  return {
    ...beat,
    lagsMs: () =>
      new Promise((resolve) => {
        child.once('message', (message: { lagsMs: number[] }) => resolve(message.lagsMs));
        child.send('report');
      }),
  };
}

import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { ROOT, SampleProcess, startNodeProcess } from './built-app';
import { celeryCliJson } from './celery-cli';
import { RABBITMQ_URL, uniqueName } from './rabbitmq';

const CLI = join(ROOT, 'bin', 'nestjs-celery-worker');

/** A worker of test/support/pool-worker-module.js under the worker CLI, and how to reach it. */
export interface PoolWorker {
  readonly process: SampleProcess;
  /** Its node name, `%h` expanded. */
  readonly hostname: string;
  /** The pid of the worker process itself (the CLI). */
  readonly pid: number;
  /** `celery inspect stats` of this worker, through the Python CLI. */
  stats(): Promise<{ pool: { 'max-concurrency': number; processes: number[]; 'max-tasks-per-child': number | string }; autoscaler?: Record<string, number> }>;
  stop(): Promise<void>;
}

/**
 * Starts the pool fixture worker on `queue` (results in `backend`) with `-c concurrency -E -l info`
 * and the POOL_* variables given, and resolves once it consumes.
 */
export async function startPoolWorker(options: { queue: string; backend: string; concurrency: number; env?: Record<string, string> }): Promise<PoolWorker> {
  const hostname = `${uniqueName('pool')}@${osHostname()}`;
  const args = [CLI, '--module', 'test/support/pool-worker-module.js', '--export', 'PoolWorkerModule', '-Q', options.queue, '-c', String(options.concurrency), '-n', hostname, '-E', '-l', 'info'];
  const child = startNodeProcess(args, { POOL_BROKER_URL: RABBITMQ_URL, POOL_RESULT_BACKEND: options.backend, POOL_QUEUE: options.queue, ...options.env });
  try {
    await child.waitForOutput(new RegExp(`Worker ${hostname.replace(/[.@]/g, '\\$&')} consuming`), 60_000);
  } catch (error) {
    child.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${child.output()}`);
  }
  return {
    process: child,
    hostname,
    pid: child.child.pid!,
    stats: async () => (await celeryCliJson('inspect', 'stats', '-d', hostname, '-t', '5'))[hostname],
    stop: async () => {
      child.child.kill('SIGTERM');
      // A worker that does not end its warm shutdown in 30 s is killed (its children follow: their IPC channel closes).
      const timer = setTimeout(() => child.child.kill('SIGKILL'), 30_000);
      await child.exited;
      clearTimeout(timer);
    },
  };
}

import type { TaskPoolName, TaskOptions } from '../../task/task-definition';
import type { TaskRegistry } from '../../task/task-registry';
import { Autoscaler, AutoscaleLimits } from './autoscaler';
import type { ChildJob } from './pool-child';
import { InterruptibleRun, ProcessPool } from './process-pool';
import { ProcessPoolStartError } from '../../errors/process-pool-start.error';

/**
 * The worker's execution seam: where a task's code runs. 'inline' is the prepared call itself, on
 * the worker's event loop; 'process' is a call into the process pool. The pool is started only
 * when the worker or one of its tasks wants it; its size is the worker's number of run slots.
 */
export class TaskPools {
  private started: ProcessPool | null = null;
  private scaler: Autoscaler | null = null;

  constructor(
    private readonly workerPool: TaskPoolName,
    private readonly processPool: ProcessPool | null,
    private readonly autoscale: AutoscaleLimits | null,
    private readonly keepaliveSeconds: number,
  ) {}

  /** The process pool when it runs (remote control's pool commands and stats), else null. */
  get process(): ProcessPool | null {
    return this.started;
  }

  /** The autoscaler when `autoscale` is set and the pool runs, else null. */
  get autoscaler(): Autoscaler | null {
    return this.scaler;
  }

  /** The run slots the worker starts with: the pool's children when tasks run there, else `concurrency`. */
  slots(concurrency: number): number {
    return this.workerPool === 'process' && this.processPool ? this.processPool.processes : concurrency;
  }

  /**
   * Starts the process pool when the worker's pool is 'process' or a task of `registry` asks for
   * it; `demand` (tasks held) drives the autoscaler, `onResize` tells the worker its new size.
   */
  async start(registry: TaskRegistry, demand: () => number, onResize: (processes: number) => void): Promise<void> {
    const wanted = this.workerPool === 'process' || registry.names().some((name) => registry.get(name)?.options.pool === 'process');
    if (!wanted || this.started) return;
    if (!this.processPool) {
      throw new ProcessPoolStartError(
        "no module for the children to create: set worker.poolModule: { path: 'dist/worker.module.js', export: 'WorkerModule' } " +
          'or start the worker with nestjs-celery-worker --module',
      );
    }
    await this.processPool.start();
    this.started = this.processPool;
    // Only a worker whose own pool is the process pool sizes its slots by it.
    if (this.workerPool === 'process') this.processPool.onResize(onResize);
    if (this.autoscale) {
      this.scaler = new Autoscaler(this.processPool, this.autoscale, demand, this.keepaliveSeconds);
      this.scaler.start();
    }
  }

  async stop(): Promise<void> {
    this.scaler?.stop();
    this.scaler = null;
    const pool = this.started;
    this.started = null;
    await pool?.stop();
  }

  /** The call that runs one task where its settings say: `inline` as it is, 'process' through the pool (started with the worker, see start()). */
  callFor(pool: TaskPoolName, inline: () => unknown, job: ChildJob, run: InterruptibleRun, options: TaskOptions): () => unknown {
    if (pool === 'inline' || !this.started) return inline;
    return this.started.callFor(job, run, options);
  }
}

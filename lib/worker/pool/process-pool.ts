import { PoolChildLostError } from '../../errors/pool-child-lost.error';
import { ProcessPoolStartError } from '../../errors/process-pool-start.error';
import type { TaskOptions } from '../../task/task-definition';
import type { CeleryLogger } from '../../utils/logger';
import { SoftTimeLimitExceeded } from '../../errors/time-limit.errors';
import { rebuildChildError } from './child-error';
import { ChildJob, ChildLaunch, PoolChild } from './pool-child';

/** The process pool's settings, resolved (Celery's prefork pool settings). */
export interface ProcessPoolSettings {
  /** Children at start: the worker's concurrency, or autoscale's min. */
  readonly processes: number;
  /** Celery's `worker_max_tasks_per_child`: a child is replaced after this many tasks; null: never. */
  readonly maxTasksPerChild: number | null;
  /** Celery's `worker_max_memory_per_child`, in KiB: a child whose resident memory passed it is replaced after its task; null: never. */
  readonly maxMemoryPerChildKib: number | null;
  readonly launch: ChildLaunch;
}

/** The run a job belongs to (TaskRun): its signal (soft limit, shutdown) and its interruptions (hard limit, terminate). */
export interface InterruptibleRun {
  readonly abort: AbortController;
  onInterrupt(listener: (error: Error) => void): void;
}

/** What the pool's size changes tell: the worker's slots and prefetch follow them, as Celery's consumer does. */
export type PoolResizeListener = (processes: number) => void;

/**
 * Celery's prefork pool for Nest: tasks run in child processes, each with the application's own
 * providers, one task at a time per child. The worker keeps the broker, the acks and the one
 * settlement path; a child only runs the code. A hard time limit or a revoke with terminate kills
 * the child running the task and a new one takes its place; a child is also replaced after
 * maxTasksPerChild tasks or once its memory passed maxMemoryPerChild, after the task that crossed it.
 */
export class ProcessPool {
  private readonly children = new Set<PoolChild>();
  private readonly idle: PoolChild[] = [];
  private readonly waiting: ((child: PoolChild) => void)[] = [];
  /** Children started before the last restart: replaced once their task is done. */
  private readonly outdated = new Set<PoolChild>();
  private target: number;
  private running = false;
  private readonly resizeListeners: PoolResizeListener[] = [];

  constructor(
    private readonly settings: ProcessPoolSettings,
    private readonly logger: CeleryLogger,
  ) {
    this.target = settings.processes;
  }

  /** Starts the children and waits until each has created the application; fails when one cannot. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const started = Array.from({ length: this.target }, () => this.spawn());
    try {
      await Promise.all(started.map((child) => child.ready));
    } catch (error) {
      await this.stop();
      throw new ProcessPoolStartError((error as Error).message);
    }
  }

  /** Ends every child: idle ones are retired (their application shuts down), busy ones too once stop is asked (the worker drained them first). */
  async stop(): Promise<void> {
    this.running = false;
    const children = [...this.children];
    this.children.clear();
    this.idle.length = 0;
    await Promise.all(children.map((child) => (child.busy ? child.kill() : child.retire())));
  }

  onResize(listener: PoolResizeListener): void {
    this.resizeListeners.push(listener);
  }

  /** The children's pids (Celery's `stats.pool.processes`). */
  get pids(): number[] {
    return [...this.children].map((child) => child.pid);
  }

  /** Children wanted now (Celery's `pool.num_processes`). */
  get processes(): number {
    return this.target;
  }

  get maxTasksPerChild(): number | null {
    return this.settings.maxTasksPerChild;
  }

  /** Children running a task now. */
  get busyCount(): number {
    return [...this.children].filter((child) => child.busy).length;
  }

  /** Adds `n` children (Celery's `pool.grow`). */
  grow(n = 1): void {
    this.resize(this.target + n);
  }

  /** Removes `n` children, idle ones at once, busy ones after their task (Celery's `pool.shrink`); never below one. */
  shrink(n = 1): void {
    this.resize(Math.max(1, this.target - n));
  }

  /** Sets the number of children, growing or shrinking to it. */
  resize(processes: number): void {
    if (processes === this.target) return;
    this.target = processes;
    for (const listener of this.resizeListeners) listener(processes);
    if (!this.running) return;
    while (this.children.size < this.target) this.spawn();
    while (this.children.size > this.target && this.idle.length > 0) this.remove(this.idle.pop()!, 'the pool shrank');
  }

  /** Replaces every child (Celery's `pool_restart`): idle ones now, busy ones once their task is done. Code changed on disk is loaded by the new ones. */
  restart(): void {
    for (const child of this.children) this.outdated.add(child);
    for (const child of this.idle.splice(0)) this.replace(child, 'pool restart');
  }

  /**
   * The call that runs a task in a child, for TaskRun.execute(): it waits for an idle child, sends
   * the job, and resolves with the task's return value or rejects with its error rebuilt. The soft
   * time limit reaches the child as SoftTimeLimitExceeded on its task's signal; an interruption
   * (hard time limit, terminate) or a shutdown abort kills the child.
   */
  callFor(job: ChildJob, run: InterruptibleRun, options: TaskOptions): () => Promise<unknown> {
    return async () => {
      const child = await this.acquire();
      const { signal } = run.abort;
      if (signal.aborted && !(signal.reason instanceof SoftTimeLimitExceeded)) {
        // Ended while it waited for a child (terminate, shutdown): the child goes to the next job.
        this.makeAvailable(child);
        throw signal.reason;
      }
      let running = true;
      const onAbort = () => {
        if (!running) return;
        if (signal.reason instanceof SoftTimeLimitExceeded) child.softLimit(signal.reason.seconds);
        else void child.kill();
      };
      signal.addEventListener('abort', onAbort);
      run.onInterrupt(() => running && void child.kill());
      const end = await child.run(job);
      running = false;
      signal.removeEventListener('abort', onAbort);
      if (end.kind === 'lost') {
        this.replace(child, `it died running ${job.message.task}[${job.message.id}] (${end.exit})`);
        throw new PoolChildLostError(child.pid, end.exit);
      }
      this.release(child, end.rssBytes);
      if (end.result.ok) return end.result.value;
      throw rebuildChildError(end.result.error, options);
    };
  }

  private acquire(): Promise<PoolChild> {
    const child = this.idle.shift();
    if (child) return Promise.resolve(child);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A child's task is done: recycle it when a limit says so, else give it to the next job. */
  private release(child: PoolChild, rssBytes: number): void {
    const { maxTasksPerChild, maxMemoryPerChildKib } = this.settings;
    if (maxTasksPerChild !== null && child.tasksRun >= maxTasksPerChild) return this.replace(child, `it ran ${child.tasksRun} task(s) (maxTasksPerChild ${maxTasksPerChild})`);
    if (maxMemoryPerChildKib !== null && rssBytes / 1024 > maxMemoryPerChildKib) {
      return this.replace(child, `its resident memory ${Math.round(rssBytes / 1024)} KiB passed maxMemoryPerChild ${maxMemoryPerChildKib} KiB`);
    }
    if (this.outdated.has(child)) return this.replace(child, 'pool restart');
    if (this.children.size > this.target) return this.remove(child, 'the pool shrank');
    this.makeAvailable(child);
  }

  private makeAvailable(child: PoolChild): void {
    if (!this.running || !this.children.has(child)) return;
    const next = this.waiting.shift();
    if (next) next(child);
    else this.idle.push(child);
  }

  /** Takes a child out and starts another; once per child, whoever sees it go first (its job, or its exit). */
  private replace(child: PoolChild, why: string): void {
    if (!this.children.has(child)) return;
    this.remove(child, why);
    if (this.running && this.children.size < this.target) this.spawn();
  }

  private remove(child: PoolChild, why: string): void {
    this.children.delete(child);
    this.outdated.delete(child);
    const at = this.idle.indexOf(child);
    if (at >= 0) this.idle.splice(at, 1);
    this.logger.log(`Process pool: child ${child.pid} leaves the pool: ${why}`);
    if (child.busy) void child.kill();
    else void child.retire();
  }

  private spawn(): PoolChild {
    const child = new PoolChild(this.settings.launch);
    this.children.add(child);
    // An idle child that dies (killed from outside, out of memory) is replaced before a job finds it dead.
    void child.exited.then((how) => this.running && this.replace(child, `it exited (${how})`));
    child.ready.then(
      () => this.makeAvailable(child),
      (error: Error) => {
        if (!this.running) return;
        this.logger.error(`Process pool: child ${child.pid} could not start: ${error.message}; trying a new one in 1 s`);
        this.children.delete(child);
        void child.kill();
        setTimeout(() => this.running && this.children.size < this.target && this.spawn(), 1_000).unref();
      },
    );
    return child;
  }
}

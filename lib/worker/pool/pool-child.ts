import { ChildProcess, fork } from 'node:child_process';
import type { DeliveryInfo } from '../../broker/broker.interface';
import type { TaskMessage } from '../../protocol/task-message';
import type { TaskStateUpdate } from '../../task/task-context';
import type { ChildRunResult, ChildToParent, ParentToChild } from './pool-messages';

/** How a child is started: the script to fork and the environment that makes it a pool child. */
export interface ChildLaunch {
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
  /** How long a child may take to create the application before it counts as failed. */
  readonly bootTimeoutMs: number;
}

/** One job given to a child: where its state updates go. */
export interface ChildJob {
  readonly message: TaskMessage;
  readonly deliveryInfo: DeliveryInfo;
  readonly hostname: string;
  storeState(update: Required<TaskStateUpdate>): Promise<void>;
}

/** How a child's job ended: its result, or the child died under it (killed, crashed, out of memory). */
export type ChildJobEnd = { readonly kind: 'done'; readonly result: ChildRunResult; readonly rssBytes: number } | { readonly kind: 'lost'; readonly exit: string };

/**
 * One process of the pool, seen from the worker: forked with an IPC channel, ready once its
 * application is created, running one job at a time. Killing it ends its job as `lost`.
 */
export class PoolChild {
  private readonly process: ChildProcess;
  private current: { jobId: number; job: ChildJob; end: (end: ChildJobEnd) => void } | null = null;
  private nextJobId = 1;
  private exitDescription: string | null = null;
  /** Tasks this child has run (maxTasksPerChild). */
  tasksRun = 0;
  /** Resolves once the application is created in the child; rejects when it could not be. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<string>;

  constructor(launch: ChildLaunch) {
    this.process = fork(launch.entry, [], { env: launch.env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        this.exitDescription = signal ? `signal ${signal}` : `exit code ${code}`;
        this.current?.end({ kind: 'lost', exit: this.exitDescription });
        this.current = null;
        resolve(this.exitDescription);
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`it did not create the application within ${launch.bootTimeoutMs} ms`)), launch.bootTimeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.process.on('message', (message: ChildToParent) => {
        if (message.type === 'ready') settle();
        else if (message.type === 'boot-failed') settle(new Error(message.error));
        else this.receive(message);
      });
      void this.exited.then((how) => settle(new Error(`it exited (${how}) before the application was created`)));
    });
    // Never an unhandled rejection: whoever awaits ready sees the error.
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  get alive(): boolean {
    return this.exitDescription === null;
  }

  /** Runs a job in the child; resolves when it is done or the child is lost. */
  run(job: ChildJob): Promise<ChildJobEnd> {
    if (!this.alive) return Promise.resolve({ kind: 'lost', exit: this.exitDescription! });
    const jobId = this.nextJobId++;
    this.tasksRun++;
    return new Promise((end) => {
      this.current = { jobId, job, end };
      this.send({ type: 'run', jobId, message: job.message, deliveryInfo: job.deliveryInfo, hostname: job.hostname });
    });
  }

  /** Tells the running job its soft time limit passed. */
  softLimit(seconds: number): void {
    if (this.current) this.send({ type: 'soft-limit', jobId: this.current.jobId, seconds });
  }

  /** Ends the process now (hard time limit, terminate, shrink of a busy pool): its job ends as lost. */
  kill(): Promise<string> {
    if (this.alive) this.process.kill('SIGKILL');
    return this.exited;
  }

  /** Ends an idle process gently (SIGTERM: its application shuts down), killing it if it lingers. */
  async retire(graceMs = 5_000): Promise<string> {
    if (!this.alive) return this.exited;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const how = await this.exited;
    clearTimeout(timer);
    return how;
  }

  private receive(message: ChildToParent): void {
    const current = this.current;
    if (!current) return;
    if (message.type === 'done' && message.jobId === current.jobId) {
      this.current = null;
      current.end({ kind: 'done', result: message.result, rssBytes: message.rssBytes });
    } else if (message.type === 'state' && message.jobId === current.jobId) {
      current.job.storeState(message.update).then(
        () => this.send({ type: 'state-stored', requestId: message.requestId }),
        (error: Error) => this.send({ type: 'state-stored', requestId: message.requestId, error: error.message }),
      );
    }
  }

  private send(message: ParentToChild): void {
    if (this.alive && this.process.connected) this.process.send(message);
  }
}

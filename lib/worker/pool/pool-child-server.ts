import { SoftTimeLimitExceeded } from '../../errors/time-limit.errors';
import type { TaskRegistry } from '../../task/task-registry';
import type { TaskStateUpdate } from '../../task/task-context';
import { NotRegisteredError } from '../../errors/not-registered.error';
import { InFlightSet } from '../../utils/in-flight-set';
import type { CeleryLogger } from '../../utils/logger';
import { createTaskContext } from '../create-task-context';
import { TaskRun } from '../task-run';
import { describeChildError } from './child-error';
import type { ChildRunResult, ChildToParent, ParentToChild, RunJob } from './pool-messages';

/**
 * The child's side of the process pool: runs the jobs its parent sends with the application's own
 * task definitions (the Nest app was created here, its providers injected), one at a time, and
 * answers each with how it ended. The hard time limit and terminate are the parent's: it kills
 * this process. The soft limit fires the task's AbortSignal here, as the in-process pool does.
 */
export class PoolChildServer {
  /** The job running now (one at a time); not a Map, see utils/in-flight-set.ts. */
  private readonly runs = new InFlightSet<{ jobId: number; run: TaskRun }>();
  private readonly stateRequests = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextRequestId = 1;

  constructor(
    private readonly registry: TaskRegistry,
    private readonly logger: CeleryLogger,
    private readonly send: (message: ChildToParent) => void,
  ) {}

  /** Handles one message from the parent. */
  receive(message: ParentToChild): void {
    if (message.type === 'run') void this.run(message);
    else if (message.type === 'soft-limit') this.runs.values().find((running) => running.jobId === message.jobId)?.run.abort.abort(new SoftTimeLimitExceeded(message.seconds));
    else if (message.type === 'state-stored') this.stateStored(message.requestId, message.error);
  }

  private async run(job: RunJob): Promise<void> {
    const { message } = job;
    const task = this.registry.get(message.task);
    let result: ChildRunResult;
    if (!task) {
      result = { ok: false, error: describeChildError(new NotRegisteredError(message.task), {}) };
    } else {
      const run = new TaskRun(message, false);
      const running = this.runs.add({ jobId: job.jobId, run });
      const context = createTaskContext(message, job.deliveryInfo, job.hostname, () => run.abort.signal, (update) => this.storeState(job.jobId, update));
      // Limits are the parent's (it kills this process at the hard one, sends the soft one).
      const ended = await run.execute(() => task.prepare(message.args, message.kwargs)(), context, { timeLimit: null, softTimeLimit: null }, () => undefined);
      this.runs.delete(running);
      result = ended.ok ? { ok: true, value: ended.value } : { ok: false, error: describeChildError(ended.error, task.options) };
    }
    this.reply(job.jobId, result);
  }

  /** A value V8 cannot clone (a function, a class instance with private state…) fails the task, as an unstorable result does. */
  private reply(jobId: number, result: ChildRunResult): void {
    const rssBytes = process.memoryUsage.rss();
    try {
      this.send({ type: 'done', jobId, result, rssBytes });
    } catch (error) {
      this.logger.warn(`Pool child ${process.pid}: the result of job ${jobId} cannot be sent to the worker: ${(error as Error).message}`);
      this.send({ type: 'done', jobId, result: { ok: false, error: describeChildError(error, {}) }, rssBytes });
    }
  }

  private storeState(jobId: number, update: Required<TaskStateUpdate>): Promise<void> {
    const requestId = this.nextRequestId++;
    return new Promise<void>((resolve, reject) => {
      this.stateRequests.set(requestId, { resolve, reject });
      this.send({ type: 'state', jobId, requestId, update });
    });
  }

  private stateStored(requestId: number, error: string | undefined): void {
    const request = this.stateRequests.get(requestId);
    if (!request) return;
    this.stateRequests.delete(requestId);
    if (error === undefined) request.resolve();
    else request.reject(new Error(error));
  }
}

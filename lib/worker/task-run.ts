import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../errors/time-limit.errors';
import { TaskMessage } from '../protocol/task-message';
import { runInTaskContext, TaskContext } from '../task/task-context';

/** How a run ended: the task's return value, or what it threw (or what interrupted it). */
export type RunResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A task being executed now (Celery's `inspect active`). */
export interface ActiveTask {
  message: TaskMessage;
  startedAt: Date;
  acknowledged: boolean;
  abort: AbortController;
  /**
   * Ends the task now with `error` as its outcome (hard time limit, revoke with terminate): its
   * AbortSignal fires and its slot is freed, whether or not its code stops.
   */
  interrupt(error: Error): void;
}

/** Time limits of one run, in seconds (null: none). */
export interface RunLimits {
  timeLimit: number | null;
  softTimeLimit: number | null;
}

/**
 * One execution of a task: its AbortSignal, its time limits, and the way to interrupt it. At the
 * soft limit the signal fires with SoftTimeLimitExceeded; at the hard limit the run ends with
 * TimeLimitExceeded. Code that ignores the signal keeps running in the background (Node.js cannot
 * stop it); whatever it returns later is dropped.
 */
export class TaskRun implements ActiveTask {
  readonly abort = new AbortController();
  readonly startedAt = new Date();
  /** Ends the run: the first of its own end, a time limit or an interruption wins. */
  private end: ((result: RunResult) => void) | null = null;
  private soft: NodeJS.Timeout | null = null;
  private hard: NodeJS.Timeout | null = null;
  /** An interruption that came before execute() (a revoke with terminate during prerun): the run ends with it at once. */
  private interruptedBefore: RunResult | null = null;
  private readonly interruptListeners: ((error: Error) => void)[] = [];

  constructor(
    readonly message: TaskMessage,
    readonly acknowledged: boolean,
  ) {}

  interrupt(error: Error): void {
    this.abort.abort(error);
    // The signal fires once: after a soft limit, only this tells the process pool to kill the child.
    for (const listener of this.interruptListeners) listener(error);
    if (this.end) this.finish({ ok: false, error });
    else this.interruptedBefore ??= { ok: false, error };
  }

  /** Told when the run is interrupted (hard time limit, terminate), even after its signal fired at the soft limit. */
  onInterrupt(listener: (error: Error) => void): void {
    this.interruptListeners.push(listener);
  }

  /**
   * Runs `call` as the task in `context`; `onHardLimit` is told before the run is ended by its
   * hard limit. One promise per run, settled by whichever ends it first.
   */
  execute(call: () => unknown, context: TaskContext, limits: RunLimits, onHardLimit: (seconds: number) => void): Promise<RunResult> {
    if (this.interruptedBefore) return Promise.resolve(this.interruptedBefore);
    return new Promise<RunResult>((resolve) => {
      this.end = resolve;
      const { timeLimit, softTimeLimit } = limits;
      if (softTimeLimit !== null) this.soft = setTimeout(() => this.abort.abort(new SoftTimeLimitExceeded(softTimeLimit)), softTimeLimit * 1000);
      if (timeLimit !== null) {
        this.hard = setTimeout(() => {
          onHardLimit(timeLimit);
          this.interrupt(new TimeLimitExceeded(timeLimit));
        }, timeLimit * 1000);
      }
      let returned: unknown;
      try {
        returned = runInTaskContext(context, call);
      } catch (error) {
        this.finish(this.failure(error));
        return;
      }
      if (!isThenable(returned)) this.finish({ ok: true, value: returned });
      else returned.then((value) => this.finish({ ok: true, value }), (error: unknown) => this.finish(this.failure(error)));
    });
  }

  /** An API aborted by the task's signal rejects with a generic AbortError: report why it was aborted. */
  private failure(error: unknown): RunResult {
    // Only an AbortError reads the signal: reading it makes one (see createTaskContext).
    const aborted = error instanceof Error && error.name === 'AbortError' && this.abort.signal.aborted;
    return { ok: false, error: aborted ? this.abort.signal.reason : error };
  }

  private finish(result: RunResult): void {
    const end = this.end;
    if (!end) return;
    this.end = null;
    if (this.soft) clearTimeout(this.soft);
    if (this.hard) clearTimeout(this.hard);
    end(result);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

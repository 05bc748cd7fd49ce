import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../errors/time-limit.errors';
import { TaskMessage } from '../protocol/task-message';
import { runInTaskContext, TaskContext } from './task-context';

/** How a run ended: the task's return value, or what it threw (or what interrupted it). */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

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
  private endInterrupted!: (outcome: Outcome) => void;
  private readonly interrupted = new Promise<Outcome>((resolve) => (this.endInterrupted = resolve));

  constructor(
    readonly message: TaskMessage,
    readonly acknowledged: boolean,
  ) {}

  interrupt(error: Error): void {
    this.abort.abort(error);
    this.endInterrupted({ ok: false, error });
  }

  /** Runs `call` as the task in `context`; `onHardLimit` is told before the run is ended by its hard limit. */
  execute(call: () => unknown, context: TaskContext, limits: RunLimits, onHardLimit: (seconds: number) => void): Promise<Outcome> {
    const { timeLimit, softTimeLimit } = limits;
    const signal = this.abort.signal;
    const running = (async (): Promise<Outcome> => {
      try {
        return { ok: true, value: await runInTaskContext(context, call) };
      } catch (error) {
        // An API aborted by the task's signal rejects with a generic AbortError: report why it was aborted.
        const aborted = signal.aborted && error instanceof Error && error.name === 'AbortError';
        return { ok: false, error: aborted ? signal.reason : error };
      }
    })();
    const soft = softTimeLimit === null ? null : setTimeout(() => this.abort.abort(new SoftTimeLimitExceeded(softTimeLimit)), softTimeLimit * 1000);
    const hard =
      timeLimit === null
        ? null
        : setTimeout(() => {
            onHardLimit(timeLimit);
            this.interrupt(new TimeLimitExceeded(timeLimit));
          }, timeLimit * 1000);
    return Promise.race([running, this.interrupted]).finally(() => {
      if (soft) clearTimeout(soft);
      if (hard) clearTimeout(hard);
    });
  }
}

import type { DeliveryInfo } from '../../broker/broker.interface';
import type { ExceptionInfo } from '../../protocol/result-meta';
import type { SignatureDict } from '../../protocol/signature-dict';
import type { TaskMessage } from '../../protocol/task-message';
import type { RetryOptions } from '../../errors/retry-requested';
import type { TaskStateUpdate } from '../../task/task-context';

/**
 * The IPC between the worker (parent) and a pool child. Sent with Node's `advanced`
 * serialization (V8's structured clone: Dates, Maps and bigints arrive as they left). The parent
 * keeps the broker, the acks and the settlement; a child only runs a task's code and says how it
 * ended, as a prefork child of Celery sends its result back to the main process.
 */
export type ParentToChild = RunJob | SoftLimitReached | StateStored;
export type ChildToParent = ChildReady | ChildBootFailed | StateRequest | JobDone;

/** Run one task: its message as received, how it was delivered, the worker's node name. */
export interface RunJob {
  readonly type: 'run';
  readonly jobId: number;
  readonly message: TaskMessage;
  readonly deliveryInfo: DeliveryInfo;
  readonly hostname: string;
}

/** The soft time limit passed: the child fires the task's AbortSignal with SoftTimeLimitExceeded. */
export interface SoftLimitReached {
  readonly type: 'soft-limit';
  readonly jobId: number;
  readonly seconds: number;
}

/** The answer to a StateRequest: stored, or why not. */
export interface StateStored {
  readonly type: 'state-stored';
  readonly requestId: number;
  readonly error?: string;
}

export interface ChildReady {
  readonly type: 'ready';
}

/** The application could not be created in the child (its module failed to load or to start). */
export interface ChildBootFailed {
  readonly type: 'boot-failed';
  readonly error: string;
}

/** A task's `updateState()` / `setProgress()`: the parent stores it as for a task run in-process. */
export interface StateRequest {
  readonly type: 'state';
  readonly jobId: number;
  readonly requestId: number;
  readonly update: Required<TaskStateUpdate>;
}

/** The task's code returned or threw; `rssBytes` is the child's resident set after it (maxMemoryPerChild). */
export interface JobDone {
  readonly type: 'done';
  readonly jobId: number;
  readonly result: ChildRunResult;
  readonly rssBytes: number;
}

export type ChildRunResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ChildError };

/**
 * What a task threw, as the parent needs it: its stored form (Celery's exception dict, computed
 * in the child where the class is known), its JavaScript name, message and stack, and what makes
 * it more than a failure — a retry() request, a replace() request, or a match of the task's
 * `autoretryFor` (by index in that list, so the parent's retry policy matches the same class).
 */
export interface ChildError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | null;
  readonly info: ExceptionInfo;
  readonly retry?: Omit<RetryOptions, 'error'> & { readonly error?: ChildError };
  readonly replacement?: SignatureDict;
  readonly autoretryIndex?: number;
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { DeliveryInfo } from '../broker/broker.interface';
import { CeleryError } from '../errors/celery.error';
import { RetryOptions } from '../errors/retry-requested';
import type { SignatureLike } from '../protocol/signature-dict';

/**
 * What a running task can know about itself (Celery's `self.request`), available anywhere in the
 * task's async call tree through `currentTask()` without adding parameters to the task method.
 */
export interface TaskContext {
  id: string;
  name: string;
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  /** 0 on the first attempt. */
  retries: number;
  rootId: string | null;
  parentId: string | null;
  groupId: string | null;
  eta: Date | null;
  expires: Date | null;
  /** Application headers Celery does not define (`apply_async(headers=…)`). */
  headers: Readonly<Record<string, unknown>>;
  /** The task's stamps, `{name: value}` (Celery 5.3+: `self.request.stamps`); empty when it has none. */
  stamps: Readonly<Record<string, unknown>>;
  deliveryInfo: DeliveryInfo;
  replyTo: string | null;
  correlationId: string | null;
  /** The worker's node name, `celery@host`. */
  hostname: string;
  /** Fires when the task should stop: soft or hard time limit, revoke with terminate, worker shutdown past its timeout; `reason` says which. */
  signal: AbortSignal;
  /**
   * Retries the task (Celery's `self.retry()`): throws, so `throw`/`return` is not needed after it.
   * The worker republishes it with retries + 1 and records RETRY, or FAILURE with
   * MaxRetriesExceededError once the task's maxRetries are used up.
   */
  retry(options?: RetryOptions): never;
  /**
   * Replaces the task with a signature, chain, group or chord (Celery's `self.replace(sig)`):
   * throws, so nothing after it runs. The worker sends the replacement under this task's id —
   * a caller's `get()` gets the replacement's result — with this task's callbacks, errbacks,
   * chord membership and remaining chain steps moved to it, and stores nothing for this task.
   */
  replace(signature: SignatureLike): never;
  /**
   * Stores a state of this task (or of `taskId`) in the result backend now, as Celery's
   * `self.update_state(task_id=None, state=None, meta=None)`: Python reads it as
   * `AsyncResult(id).state` and `.info`, our `AsyncResult.progress()` and `watch()` see it. The
   * task's final state overwrites it. Resolves once stored; rejects (and logs a warning) when the
   * backend could not store it, or with InvalidTaskStateError for a state it cannot hold.
   */
  updateState(update: TaskStateUpdate): Promise<void>;
  /**
   * Reports progress as Django's celery-progress `ProgressRecorder(self).set_progress(current,
   * total, description)` does: `updateState` with state PROGRESS and meta `{ pending, current,
   * total, percent, description }`, which celery-progress's `Progress(result).get_info()` and
   * bar show, and our dashboard too.
   */
  setProgress(current: number, total: number, description?: string): Promise<void>;
}

/** What `updateState` stores: Celery's `update_state(task_id, state, meta)`. */
export interface TaskStateUpdate {
  /** A custom state such as 'PROGRESS', or one of Celery's; at most 50 characters. */
  state: string;
  /** What Python reads as `AsyncResult.info`; JSON-like. Default null. */
  meta?: unknown;
  /** Another task's id (Celery's `task_id=`); default: the running task. */
  taskId?: string;
}

const storage = new AsyncLocalStorage<TaskContext>();

/** What each running task sent (Celery's `request.children`), as result tuples, kept beside its context. */
const trails = new WeakMap<TaskContext, unknown[]>();

/**
 * Records a result the running task sent, if any task is running here (Celery's
 * `add_to_parent`): the worker stores them as the `children` of the task's result.
 */
export function addToParentTrail(resultTuple: unknown): void {
  const context = storage.getStore();
  if (!context) return;
  const trail = trails.get(context);
  if (trail) trail.push(resultTuple);
  else trails.set(context, [resultTuple]);
}

/** The result tuples a task sent while it ran, in the order sent. */
export function trailOf(context: TaskContext): unknown[] {
  return trails.get(context) ?? [];
}

/** Runs `fn` with `context` as the current task. */
export function runInTaskContext<T>(context: TaskContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The task being run by the current async call tree, or undefined outside of a task. */
export function currentTaskOrUndefined(): TaskContext | undefined {
  return storage.getStore();
}

/** The task being run (Celery's `self.request`); throws when called outside of a task. */
export function currentTask(): TaskContext {
  const context = storage.getStore();
  if (!context) {
    throw new CeleryError('currentTask() was called outside of a running Celery task; call it from code a @CeleryTask() method runs.');
  }
  return context;
}

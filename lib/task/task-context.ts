import { AsyncLocalStorage } from 'node:async_hooks';
import { DeliveryInfo } from '../broker/broker.interface';
import { CeleryError } from '../errors/celery.error';
import { RetryOptions } from '../errors/retry-requested';

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
}

const storage = new AsyncLocalStorage<TaskContext>();

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

import { randomUUID } from 'node:crypto';
import { ReplaceRequested } from '../errors/replace-requested';
import { RetryRequested } from '../errors/retry-requested';
import { progressMeta, PROGRESS_STATE } from '../protocol/progress-meta';
import { toSignatureDict } from '../protocol/signature-dict';
import { runInTaskContext, TaskContext } from '../task/task-context';

/** What a test may set of a task's context; everything else gets a plain default (see testTaskContext). */
export type TestTaskContextOptions = Partial<Omit<TaskContext, 'retry' | 'replace' | 'setProgress'>>;

/**
 * A task context for a test (Celery's `self.request` as `task.apply()` builds it): a new `id`
 * (also its `rootId` and `correlationId`), `name` 'test.task', no args or kwargs, `retries` 0,
 * no parent, group, eta, expiry or headers, delivered from the `celery` queue to `celery@testing`,
 * and an AbortSignal that never fires unless `signal` is given. `retry()` throws RetryRequested
 * with its options and `replace(signature)` ReplaceRequested with the signature's dict, as a real
 * task's do. `updateState` stores nothing unless given (pass a `jest.fn()` to see what the task
 * reports); `setProgress` goes through it.
 */
export function testTaskContext(options: TestTaskContextOptions = {}): TaskContext {
  const id = options.id ?? randomUUID();
  const context: TaskContext = {
    id,
    name: 'test.task',
    args: [],
    kwargs: {},
    retries: 0,
    rootId: id,
    parentId: null,
    groupId: null,
    eta: null,
    expires: null,
    headers: {},
    stamps: {},
    deliveryInfo: { exchange: '', routingKey: 'celery', redelivered: false, queue: 'celery' },
    replyTo: null,
    correlationId: id,
    hostname: 'celery@testing',
    signal: new AbortController().signal,
    updateState: async () => undefined,
    ...options,
    retry: (retry = {}) => {
      throw new RetryRequested(retry);
    },
    replace: (signature) => {
      throw new ReplaceRequested(toSignatureDict(signature));
    },
    setProgress: (current, total, description) => context.updateState({ state: PROGRESS_STATE, meta: progressMeta(current, total, description) }),
  };
  return context;
}

/**
 * Runs `call` as a task would run (Celery's `task.apply()`, without the worker's policies), with
 * `currentTask()` answering from `context`, so a `@CeleryTask()` method (or anything it calls)
 * can be unit-tested without a module, a broker or a worker:
 * `await runTask(() => tasks.charge(7), { retries: 2 })`. Resolves with what the call
 * returns; rejects with what it throws — `currentTask().retry(options)` rejects with
 * RetryRequested, whose `options` are the retry's (`countdown`, `eta`, `error`, `maxRetries`,
 * `queue`). Nothing else of the worker applies: retry limits, guards, interceptors and signal handlers run
 * in CeleryTestingModule.
 */
export async function runTask<T>(call: () => T | PromiseLike<T>, context: TestTaskContextOptions = {}): Promise<Awaited<T>> {
  return await runInTaskContext(testTaskContext(context), call);
}

import { ResultBackend } from '../backend/result-backend.interface';
import { TaskFailedError } from '../errors/task-failed.error';
import { isExceptionInfo } from '../protocol/exception-info';
import { TaskResultMeta } from '../protocol/result-meta';
import { PROPAGATE_STATES, READY_STATES, TaskState, TaskStateName } from '../protocol/task-states';
import type { GroupResult } from './canvas/group-result';
import { resultFromTuple } from './canvas/result-tuple';
import { progressOf, TaskProgress, watchTaskProgress, WatchOptions } from './task-progress';

export interface GetResultOptions {
  /** Milliseconds to wait; rejects with ResultTimeoutError after that. Default: wait forever. */
  timeout?: number;
  /** Throw TaskFailedError for FAILURE/REVOKED (default true); false returns the exception info. */
  propagate?: boolean;
  signal?: AbortSignal;
}

/**
 * A task's result, by id (Celery's `AsyncResult`). Every read asks the result backend, so it
 * works for tasks sent by any process or language.
 */
export class AsyncResult<TResult = unknown> {
  /**
   * The result of the step before this one in a workflow (Celery's `.parent`): the previous task
   * of a chain, or a chord's header group. Null for a task sent on its own.
   */
  parent: { readonly id: string; get(options?: GetResultOptions): Promise<unknown> } | null = null;

  constructor(
    readonly id: string,
    private readonly backend: ResultBackend,
  ) {}

  /** The stored meta, or null while nothing is stored (PENDING). */
  async info(): Promise<TaskResultMeta | null> {
    return this.backend.getResult(this.id);
  }

  /** PENDING, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or a custom state (Celery: `.state`). */
  async state(): Promise<TaskStateName> {
    return (await this.info())?.status ?? TaskState.PENDING;
  }

  /**
   * The state and meta stored now (Celery's `.state` and `.info` at once): PROGRESS and
   * `{ current, total, percent, … }` while the task reports progress (`setProgress`, Python's
   * `update_state`), PENDING and null before anything is stored.
   */
  async progress(): Promise<TaskProgress> {
    return progressOf(await this.backend.getResult(this.id));
  }

  /**
   * Each state of the task as it is stored — the current one first, then every change (a new
   * state, or new meta: each `setProgress`), ending after the ready state:
   * `for await (const { state, meta } of result.watch()) …`. Woken by the backend (PostgreSQL
   * LISTEN/NOTIFY, Redis pub/sub, rpc:// replies, which reach only the process that sent the
   * task), not by a poll interval. Celery has no iterator; `get(on_message=…)` is the nearest.
   * A state stored and replaced between two reads may be skipped; the last one never is.
   */
  watch(options?: WatchOptions): AsyncGenerator<TaskProgress, void, undefined> {
    return watchTaskProgress(this.backend, this.id, options);
  }

  /** True once the task has finished, whatever the outcome (Celery: `.ready()`). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === TaskState.SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === TaskState.FAILURE;
  }

  /**
   * Waits for the task to finish and returns its value (Celery: `.get(timeout=…)`). Rejects with
   * TaskFailedError (the remote exception's type, message and traceback) on FAILURE or REVOKED,
   * and with ResultTimeoutError when `timeout` ms pass first.
   */
  async get(options: GetResultOptions = {}): Promise<TResult> {
    const meta = await this.backend.waitForResult(this.id, { timeout: options.timeout, signal: options.signal });
    if (PROPAGATE_STATES.has(meta.status) && options.propagate !== false) {
      const info = isExceptionInfo(meta.result) ? meta.result : { exc_type: 'Exception', exc_message: [String(meta.result)], exc_module: null };
      throw new TaskFailedError(this.id, meta.status, info, meta.traceback);
    }
    return meta.result as TResult;
  }

  /**
   * The tasks this task sent, as stored with its result (Celery's `.children`): what it sent
   * while it ran, then its callbacks and its chain's next step, each an AsyncResult or a
   * GroupResult. Empty while nothing is stored, and always with the database backend, whose
   * Celery table has no column for them (Python's `.children` is None there too); Redis and
   * rpc:// keep them.
   */
  async children(): Promise<(AsyncResult | GroupResult)[]> {
    const meta = await this.info();
    return (meta?.children ?? []).map((child) => resultFromTuple(child, this.backend));
  }

  /**
   * Waits for this task and every task in its result graph, yielding each result with its value
   * (Celery's `collect()`): this task first, then its children, theirs after, in Celery's order
   * (each level in the order stored). A group yields its list of values, then its members. Each
   * value is waited for with `options` (timeout, propagate) as `get()` does.
   */
  async *collect(options: GetResultOptions = {}): AsyncGenerator<[AsyncResult | GroupResult, unknown]> {
    const pending: (AsyncResult | GroupResult)[] = [this];
    while (pending.length > 0) {
      const node = pending.shift()!;
      yield [node, await node.get(options)];
      pending.push(...(await node.children()));
    }
  }

  /** Removes the stored result (Celery: `.forget()`). */
  async forget(): Promise<void> {
    await this.backend.forget(this.id);
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }
}

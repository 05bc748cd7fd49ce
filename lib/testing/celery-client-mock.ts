import { randomUUID } from 'node:crypto';
import { MemoryResultBackend } from '../backend/memory/memory-result-backend';
import { MemoryBroker } from '../broker/memory/memory-broker';
import { QueueCatalog } from '../broker/queue-catalog';
import { CeleryClient, PreparedTask, TaskCall } from '../client/celery-client';
import type { SendTaskOptions } from '../client/send-task-options';
import type { TaskRef } from '../client/task-ref';
import { TaskRouter } from '../client/task-router';
import type { CeleryModuleOptions } from '../runtime/celery-module-options';
import { ResultRecorder } from '../worker/result-recorder';
import type { SentTask } from './sent-task';
import { SentTaskAssertions, SentTaskLog, TaskName } from './sent-task-log';

/** Routing as the app configures it, so that a recorded `queue` is where production would send. */
export type CeleryClientMockOptions = Pick<CeleryModuleOptions, 'defaultQueue' | 'queues' | 'taskRoutes'>;

/** What a mocked task returns (or throws) for the args and kwargs it was sent with. */
export type TaskAnswer<TArgs extends readonly unknown[] = any[], TResult = unknown, TKwargs = Record<string, any>> = (args: TArgs, kwargs: TKwargs) => TResult | Promise<TResult>;

/**
 * A real CeleryClient on a private in-process broker and result backend, with nothing consuming
 * it: tasks sent are recorded (SentTaskAssertions) and stay PENDING unless `answer()` gives their
 * result. For `overrideProvider(CeleryClient).useValue(createCeleryClientMock())` in a unit test of
 * a service that sends tasks, as Nest's docs replace a BullMQ queue. Being the real client, every
 * send checks its options as production does; nothing runs, so a chain stops at its first task
 * (use CeleryTestingModule with `alwaysEager` for workflows).
 */
export class CeleryClientMock extends CeleryClient implements SentTaskAssertions {
  private readonly log: SentTaskLog;
  /** Calls prepared and not yet published, by task id: an answer is stored from the call's message. */
  private readonly calls: Map<string, TaskCall>;
  private readonly answers = new Map<string, TaskAnswer>();
  private readonly recorder: ResultRecorder;

  constructor(options: CeleryClientMockOptions = {}) {
    const log = new SentTaskLog();
    const calls = new Map<string, TaskCall>();
    const backend = new MemoryResultBackend(`memory://celery-client-mock-${randomUUID()}`);
    super({
      broker: new MemoryBroker(),
      backend,
      queues: new QueueCatalog(options.queues),
      defaultQueue: options.defaultQueue ?? 'celery',
      router: new TaskRouter(options.taskRoutes),
      onTaskCall: (call) => {
        log.record(call);
        calls.set(call.message.id, call);
      },
    });
    this.log = log;
    this.calls = calls;
    this.recorder = new ResultRecorder(backend, 'celery-client-mock');
  }

  /**
   * Gives the result of every later send of `task`: what `respond(args, kwargs)` returns is stored
   * as SUCCESS before `send()` resolves, what it throws as FAILURE (`get()` rejects with
   * TaskFailedError), as a worker would store them. Returns the mock, to chain.
   */
  answer<TArgs extends unknown[], TResult, TKwargs extends object>(task: TaskRef<TArgs, TResult, TKwargs>, respond: TaskAnswer<TArgs, TResult, TKwargs>): this;
  answer(task: string, respond: TaskAnswer): this;
  answer(task: TaskName, respond: TaskAnswer): this {
    this.answers.set(typeof task === 'string' ? task : task.name, respond);
    return this;
  }

  override async publishPrepared(prepared: PreparedTask): Promise<void> {
    const call = this.calls.get(prepared.taskId);
    this.calls.delete(prepared.taskId);
    await super.publishPrepared(prepared);
    const respond = call && this.answers.get(call.name);
    if (!call || !respond) return;
    try {
      await this.recorder.success(call.message, call.queue, await respond(call.message.args, call.message.kwargs));
    } catch (error) {
      await this.recorder.failure(call.message, call.queue, error);
    }
  }

  sentTasks(task?: TaskName): SentTask[] {
    return this.log.sentTasks(task);
  }

  expectTaskSent(task: TaskName, args?: readonly unknown[], options?: SendTaskOptions): SentTask {
    return this.log.expectTaskSent(task, args, options);
  }

  expectNoTaskSent(task?: TaskName): void {
    this.log.expectNoTaskSent(task);
  }

  /** Forgets what was sent; answers stay. */
  clearSentTasks(): void {
    this.log.clearSentTasks();
  }
}

/** A CeleryClientMock: `overrideProvider(CeleryClient).useValue(createCeleryClientMock())`. */
export function createCeleryClientMock(options: CeleryClientMockOptions = {}): CeleryClientMock {
  return new CeleryClientMock(options);
}

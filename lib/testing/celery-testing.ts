import type { SendTaskOptions } from '../client/send-task-options';
import type { CeleryClient } from '../client/celery-client';
import type { CeleryRuntime } from '../runtime/celery-runtime';
import type { SentTask } from './sent-task';
import type { SentTaskAssertions, SentTaskLog, TaskName } from './sent-task-log';

/**
 * The testing kit of one compiled `CeleryTestingModule`: what the app sent (the record), and the
 * in-memory Celery app behind it. Get it with `moduleRef.get(CeleryTesting)`; clear the record
 * between tests that share a module. Celery has no such object: Python tests mock `apply_async`.
 */
export class CeleryTesting implements SentTaskAssertions {
  constructor(
    private readonly log: SentTaskLog,
    private readonly runtime: CeleryRuntime,
  ) {}

  /** The app's client (the one `CeleryClient` injects), to send from a test. */
  get client(): CeleryClient {
    return this.runtime.parts.client;
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

  clearSentTasks(): void {
    this.log.clearSentTasks();
  }
}

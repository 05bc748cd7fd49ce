export { CeleryTestingModule } from './celery-testing.module';
export type { CeleryTestingModuleOptions } from './celery-testing-options';
export { CeleryTesting } from './celery-testing';
export type { SentTask } from './sent-task';
export type { SentTaskAssertions, TaskName } from './sent-task-log';
export { runTask, testTaskContext } from './run-task';
export type { TestTaskContextOptions } from './run-task';
export { RetryRequested } from '../errors/retry-requested';
export type { RetryOptions } from '../errors/retry-requested';

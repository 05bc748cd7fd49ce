export { CeleryTestingModule } from './celery-testing.module';
export type { CeleryTestingModuleOptions } from './celery-testing-options';
export { CeleryTesting } from './celery-testing';
export type { SentTask } from './sent-task';
export type { SentTaskAssertions, TaskName } from './sent-task-log';

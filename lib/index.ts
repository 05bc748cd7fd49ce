/*
 * nestjs-celery: what an app writes against. Everything else is internal, or behind an explicit
 * entry point: `nestjs-celery/typeorm` (entities and migrations for your own DataSource),
 * `nestjs-celery/microservices` (the Nest transport), `nestjs-celery/dashboard`,
 * `nestjs-celery/testing`, and `nestjs-celery/advanced` (the runtime's parts, for tooling).
 * Importing this file loads no optional package (TypeORM, pg, PGlite, ioredis, prom-client, the AWS SDK): each
 * is loaded when the part that needs it is configured.
 */

// The module and its options.
export { CeleryModule } from './celery.module';
export { celeryOptionsFromEnv } from './runtime/celery-options-from-env';
export type {
  BrokerOptions,
  CeleryModuleAsyncOptions,
  CeleryModuleOptions,
  CeleryOptionsFactory,
  EmbeddedBackendOptions,
  PostgresBackendOptions,
  RedisBackendOptions,
  ResultBackendOption,
  SecurityOptions,
  WorkerModuleOptions,
} from './interfaces/celery-module-options.interface';
export type { CeleryQueueOptions } from './broker/celery-queue';
export type { SqsPredefinedQueue, SqsTransportOptions } from './broker/sqs/sqs-transport-options';
export type { DelayedDeliveryQueueType } from './broker/delayed-delivery/delayed-delivery-topology';
export type { Route, RouterFunction, TaskRoutes } from './client/task-router';
export type { CeleryMetricsOptions } from './metrics/celery-metrics-options';
export type { OutboxModuleOptions } from './outbox/outbox-options';
export type { BeatModuleOptions } from './beat/beat-options';
export type { BeatEntryOptions, BeatSchedule, BeatScheduleEntry, CrontabSpec, SolarEventName, SolarSpec } from './task/task-schedule';
export type { TracerProviderLike, TracingOptions } from './tracing/tracing-options';
export type {
  CeleryAlertsOptions,
  FailureRateAlertOptions,
  QueueBacklogAlertOptions,
  TaskFailureAlertOptions,
  WorkerSilenceAlertOptions,
} from './alerts/alert-options';

// Decorators: tasks (Celery's @app.task), their arguments, task signals, alerts.
export { CeleryTask } from './decorators/celery-task.decorator';
export type { CeleryTaskOptions } from './decorators/celery-task.decorator';
export { TaskArg } from './decorators/task-arg.decorator';
export type { CeleryContextType } from './celery.constants';
export { OnTaskSignal } from './decorators/on-task-signal.decorator';
export type { OnTaskSignalOptions } from './decorators/on-task-signal.decorator';
export { TaskSignals } from './worker/task-signals';
export type { TaskSignal, TaskSignalHandler, TaskSignalName } from './worker/task-signals';
export { OnCeleryAlert } from './decorators/on-celery-alert.decorator';
export type { AlertRuleName, CeleryAlert } from './alerts/celery-alert';

// Inside a task: Celery's self.request and self.retry().
export { currentTask, currentTaskOrUndefined } from './task/task-context';
export type { TaskContext, TaskStateUpdate } from './task/task-context';
export type { RetryOptions } from './errors/retry-requested';

// Sending tasks and reading results (send_task, apply_async, AsyncResult), canvas, the outbox.
export { CeleryClient } from './client/celery-client';
export type { SendTaskOptions } from './client/send-task-options';
export { defineTask } from './client/task-ref';
export type { NoKwargs, TaskRef } from './client/task-ref';
export { AsyncResult } from './client/async-result';
export type { GetResultOptions } from './client/async-result';
export type { TaskProgress, WatchOptions } from './client/task-progress';
export { TaskState, READY_STATES } from './protocol/task-states';
export type { TaskStateName } from './protocol/task-states';
export { Signature, signature } from './client/canvas/signature';
export type { ApplyOptions } from './client/canvas/signature';
export { chain, chord, chunks, group, xmap, xstarmap } from './client/canvas/canvas';
export { GroupResult } from './client/canvas/group-result';
export { CeleryOutbox } from './outbox/celery-outbox';

// The worker (manual start, rate limits), remote control (app.control), metrics, health.
export { CeleryWorker } from './worker/celery-worker';
export type { ActiveTask } from './worker/celery-worker';
export type { BroadcastOptions, ControlClient, ControlReply, RevokeOptions } from './control/control-client';
export type { Inspect, InspectOptions, RepliesByNode } from './control/inspect';
export type { ControlOutcome, QueriedTasks, QueueInfo, ScheduledTaskInfo, TaskRequestInfo, WorkerStats } from './control/control-replies';
export { CeleryMetrics } from './metrics/celery-metrics';
export { CeleryHealthIndicator } from './health/celery-health-indicator';
export type { CeleryHealthResult } from './health/celery-health-indicator';

// Errors an app catches or throws. Configuration errors (thrown once, at start-up) are in nestjs-celery/advanced.
export { CeleryError } from './errors/celery.error';
export { TaskFailedError } from './errors/task-failed.error';
export { ResultTimeoutError } from './errors/result-timeout.error';
export { ResultBackendDisabledError } from './errors/result-backend-disabled.error';
export { PublishError } from './errors/publish.error';
export { PublishTimeoutError } from './errors/publish-timeout.error';
export { BrokerConnectionError } from './errors/broker-connection.error';
export { InvalidSendOptionsError } from './errors/invalid-send-options.error';
export { InvalidTaskStateError } from './errors/invalid-task-state.error';
export { ControlCommandError } from './errors/control-command.error';
export { PythonException } from './errors/python-exception';
export type { PythonExceptionName } from './errors/python-exception';
export { RetryRequested } from './errors/retry-requested';
export { ReplaceRequested } from './errors/replace-requested';
export { MaxRetriesExceededError } from './errors/max-retries-exceeded.error';
export { SoftTimeLimitExceeded, TimeLimitExceeded } from './errors/time-limit.errors';
export { TaskRevokedError } from './errors/task-revoked.error';
export type { RevokeReason } from './errors/task-revoked.error';
export { WorkerLostError } from './errors/worker-lost.error';

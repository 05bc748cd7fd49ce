/*
 * nestjs-celery/advanced: the runtime's parts, for tooling and tests beyond what an app usually
 * needs. Each can be injected from CeleryModule (or built by hand); they may change between minor
 * versions more readily than the root entry point.
 */

// Injection tokens of the connections, and what they hold.
export { CELERY_BROKER, CELERY_RESULT_BACKEND } from '../celery.constants';
export type { Broker } from '../broker/broker.interface';
export type { ResultBackend } from '../backend/result-backend.interface';
export { celeryTaskQueue } from '../broker/celery-queue';

// Tasks, routing and the wire format.
export { TaskRegistry } from '../task/task-registry';
export type { TaskOptions } from '../task/task-definition';
export { TaskRouter } from '../client/task-router';
export type { PreparedTask } from '../client/celery-client';
export type { ChordJoin } from '../client/canvas/canvas-publisher';
export type { SubtaskType } from '../client/canvas/signature';
export type { SignatureDict } from '../protocol/signature-dict';
export type { ExceptionInfo, TaskResultMeta } from '../protocol/result-meta';
export { LamportClock } from '../protocol/lamport-clock';

// The worker's observers, remote control and Celery events.
export { ControlServer } from '../remote-control/control-server';
export { WorkerEventsMonitor } from '../worker/worker-events-monitor';
export { TaskProgressLog } from '../worker/task-progress-log';
export type { PartialTaskMessage, WorkerMonitor } from '../worker/worker-monitor';
export type { TaskEventSwitch } from '../events/task-event-switch';

// Watching a deployment through its events, as Flower does (the dashboard is built on these).
export * from '../monitoring';

// Errors thrown at start-up by a configuration to fix, and the rarer ones of the runtime.
export { MissingPackageError } from '../errors/missing-package.error';
export { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
export { InvalidBrokerUrlError } from '../errors/invalid-broker-url.error';
export { InvalidRedisUrlError } from '../errors/invalid-redis-url.error';
export { InvalidSqsUrlError } from '../errors/invalid-sqs-url.error';
export { UnsupportedBrokerUrlError } from '../errors/unsupported-broker-url.error';
export { UnsupportedResultBackendError } from '../errors/unsupported-result-backend.error';
export { UnsupportedOnRedisError } from '../errors/unsupported-on-redis.error';
export { UnsupportedOnSqsError } from '../errors/unsupported-on-sqs.error';
export { ResultBackendConfigurationError } from '../errors/result-backend-configuration.error';
export { ResultBackendConnectionError } from '../errors/result-backend-connection.error';
export { ResultStoreError } from '../errors/result-store.error';
export { DuplicateTaskNameError } from '../errors/duplicate-task-name.error';
export { TaskArgumentNamesError } from '../errors/task-argument-names.error';
export { TaskParameterDecoratorsError } from '../errors/task-parameter-decorators.error';
export { LostTaskDecoratorError } from '../errors/lost-task-decorator.error';
export { InvalidPythonExceptionNameError } from '../errors/invalid-python-exception-name.error';
export { MessageSecurityError } from '../errors/message-security.error';
export { QueueDeclarationError } from '../errors/queue-declaration.error';
export { QuorumQueueConsumerError } from '../errors/quorum-queue-consumer.error';
export { WorkerNotConsumingError } from '../errors/worker-not-consuming.error';
export { InvalidControlRequestError } from '../errors/invalid-control-request.error';
export { OutboxNotConfiguredError } from '../errors/outbox-not-configured.error';
export { OutboxConnectionError } from '../errors/outbox-connection.error';
export { BeatConfigurationError } from '../errors/beat-configuration.error';
export { InvalidScheduleError } from '../errors/invalid-schedule.error';
export type { BeatModuleOptions } from '../beat/beat-options';
export { DuplicateGuardUnavailableError } from '../errors/duplicate-guard-unavailable.error';
export { UnboundSignatureError } from '../errors/unbound-signature.error';
export { GroupResultUnsupportedError } from '../errors/group-result-unsupported.error';
export { NotRegisteredError } from '../errors/not-registered.error';

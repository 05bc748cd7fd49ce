import { RevokeReason } from '../errors/task-revoked.error';
import type { SignatureDict } from '../protocol/signature-dict';
import { TaskMessage } from '../protocol/task-message';

/** A message as far as it could be read: at least its id. */
export type PartialTaskMessage = Pick<TaskMessage, 'id'> & Partial<TaskMessage>;

/**
 * Watches what a worker does, for Celery events (Flower), metrics and dashboards. Every method is
 * optional, is called synchronously on the worker's path, and must neither throw nor block: do
 * the I/O later (batch it).
 */
export interface WorkerMonitor {
  workerStarted?(): void;
  /** A warm shutdown began: no more messages are taken; running tasks may still finish. */
  workerStopping?(): void;
  /** The shutdown is over: every task it started is done. */
  workerStopped?(): void;
  /** A valid message for a registered task arrived (Celery's task-received). */
  taskReceived?(message: TaskMessage): void;
  /** Execution began (task-started). */
  taskStarted?(message: TaskMessage): void;
  taskSucceeded?(message: TaskMessage, result: unknown, runtimeSeconds: number): void;
  /** runtimeSeconds is null when the task never ran (unknown task, arguments that do not fit). */
  taskFailed?(message: PartialTaskMessage, error: unknown, runtimeSeconds: number | null): void;
  taskRetried?(message: TaskMessage, error: unknown): void;
  taskRevoked?(message: TaskMessage, reason: RevokeReason): void;
  /** The task replaced itself (`replace()`): its replacement was sent under its id; no event, as in Celery (IGNORED). */
  taskReplaced?(message: TaskMessage, replacement: SignatureDict): void;
  /** The message was rejected without requeue (invalid, unknown task…) or handed back with requeue. */
  taskRejected?(message: PartialTaskMessage | null, requeue: boolean): void;
}

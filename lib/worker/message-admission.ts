import { DeliveredMessage } from '../broker/broker.interface';
import { InvalidTaskMessageError } from '../errors/invalid-task-message.error';
import { NotRegisteredError } from '../errors/not-registered.error';
import { MessageSecurityError } from '../errors/message-security.error';
import { decodeTaskMessage, SignaturePolicy, UNSIGNED_ONLY } from '../protocol/decode-task-message';
import { TaskMessage } from '../protocol/task-message';
import { CeleryLogger } from '../utils/logger';
import { ResultRecorder } from './result-recorder';
import { TaskDefinition } from './task-definition';
import { TaskRegistry } from './task-registry';
import { PartialTaskMessage } from './worker-monitor';
import { WorkerObservers } from './worker-observers';

/**
 * The worker's door: decodes a delivery, finds its task and binds its arguments, and refuses
 * what does not pass — one log line with the reason, reject without requeue (a dead-letter
 * exchange on the queue keeps it), and a FAILURE stored when the task id is known, as Celery does.
 * A message refused for its signature gets no FAILURE: its task id is in headers nobody signed,
 * and storing under it would let anyone with broker access overwrite other tasks' results.
 */
export class MessageAdmission {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly maxMessageBytes: number,
    private readonly recorder: ResultRecorder,
    private readonly observers: WorkerObservers,
    private readonly logger: CeleryLogger,
    private readonly signatures: SignaturePolicy = UNSIGNED_ONLY,
  ) {}

  /** The message and its task, or null when the message was refused (invalid or unknown task). */
  decode(delivery: DeliveredMessage): { message: TaskMessage; task: TaskDefinition } | null {
    let message: TaskMessage;
    try {
      message = decodeTaskMessage(delivery.body, delivery.properties, { maxBytes: this.maxMessageBytes }, this.signatures);
    } catch (error) {
      if (error instanceof MessageSecurityError) {
        this.refuseUntrusted(delivery, error);
        return null;
      }
      const invalid = error as InvalidTaskMessageError;
      this.refuse(delivery, invalid.taskId ? { id: invalid.taskId, task: invalid.taskName ?? undefined } : null, invalid);
      return null;
    }
    const task = this.registry.get(message.task);
    if (!task) {
      this.refuse(delivery, message, new NotRegisteredError(message.task));
      return null;
    }
    return { message, task };
  }

  /** The call that runs the task with the message's arguments, or null when they do not fit (refused). */
  bind(delivery: DeliveredMessage, message: TaskMessage, task: TaskDefinition): (() => unknown) | null {
    try {
      return task.prepare(message.args, message.kwargs);
    } catch (error) {
      this.refuse(delivery, message, error as Error);
      return null;
    }
  }

  private refuseUntrusted(delivery: DeliveredMessage, error: MessageSecurityError): void {
    const label = `${error.taskName ?? '?'}[${error.taskId ?? 'task id unknown'}]`;
    this.logger.error(`Rejected task message ${label} from queue ${delivery.deliveryInfo.queue}: ${error.reason}`);
    delivery.reject(false);
    this.observers.notify('taskRejected', null, false);
  }

  private refuse(delivery: DeliveredMessage, message: PartialTaskMessage | null, error: Error): void {
    const label = message ? `${message.task ?? '?'}[${message.id}]` : '(task id unknown)';
    this.logger.error(`Rejected task message ${label} from queue ${delivery.deliveryInfo.queue}: ${error.message}`);
    delivery.reject(false);
    if (message) this.observers.notify('taskFailed', message, error, null);
    this.observers.notify('taskRejected', message, false);
    if (message) {
      this.recorder.failure(message, delivery.deliveryInfo.routingKey, error).catch((storeError: Error) => {
        this.logger.error(`Could not store the FAILURE of rejected task ${label}: ${storeError.message}`);
      });
    }
  }
}

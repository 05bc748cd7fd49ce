import { DeliveredMessage } from '../broker/broker.interface';
import { InvalidTaskMessageError } from '../errors/invalid-task-message.error';
import { MessageSecurityError } from '../errors/message-security.error';
import { NotRegisteredError } from '../errors/not-registered.error';
import { decodeTaskMessage, SignaturePolicy, UNSIGNED_ONLY } from '../protocol/decode-task-message';
import { TaskMessage } from '../protocol/task-message';
import { CeleryLogger } from '../utils/logger';
import { TaskDefinition } from '../task/task-definition';
import { TaskRegistry } from '../task/task-registry';
import { PartialTaskMessage } from './worker-monitor';
import { WorkerObservers } from './worker-observers';

/** What the door decided about a delivery. */
export type Admission =
  | { readonly kind: 'admitted'; readonly message: TaskMessage; readonly task: TaskDefinition }
  /** Refused: the worker settles it as a FAILURE (stored when its id is known), then rejects it. */
  | { readonly kind: 'refused'; readonly message: TaskMessage | PartialTaskMessage | null; readonly task?: TaskDefinition; readonly error: Error }
  /** Refused for its signature: already rejected here, nothing stored (see below). */
  | { readonly kind: 'untrusted' };

/**
 * The worker's door: decodes a delivery and finds its task, refusing what does not pass. A
 * refusal is settled like any failure (settlement.ts): FAILURE stored when the task id is known,
 * as Celery does, errbacks and chord counted, one log line, then reject without requeue (a
 * dead-letter exchange on the queue keeps it).
 *
 * A message refused for its signature is rejected here and gets no FAILURE: its task id is in
 * headers nobody signed, and storing under it would let anyone with broker access overwrite other
 * tasks' results.
 */
export class MessageAdmission {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly maxMessageBytes: number,
    private readonly observers: WorkerObservers,
    private readonly logger: CeleryLogger,
    private readonly signatures: SignaturePolicy = UNSIGNED_ONLY,
  ) {}

  admit(delivery: DeliveredMessage): Admission {
    let message: TaskMessage;
    try {
      message = decodeTaskMessage(delivery.body, delivery.properties, { maxBytes: this.maxMessageBytes }, this.signatures);
    } catch (error) {
      if (error instanceof MessageSecurityError) return this.refuseUntrusted(delivery, error);
      const invalid = error as InvalidTaskMessageError;
      return { kind: 'refused', message: invalid.taskId ? { id: invalid.taskId, task: invalid.taskName ?? undefined } : null, error: invalid };
    }
    const task = this.registry.get(message.task);
    if (!task) return { kind: 'refused', message, error: new NotRegisteredError(message.task) };
    return { kind: 'admitted', message, task };
  }

  private refuseUntrusted(delivery: DeliveredMessage, error: MessageSecurityError): Admission {
    const label = `${error.taskName ?? '?'}[${error.taskId ?? 'task id unknown'}]`;
    this.logger.error(`Rejected task message ${label} from queue ${delivery.deliveryInfo.queue}: ${error.reason}`);
    delivery.reject(false);
    this.observers.notify('taskRejected', null, false);
    return { kind: 'untrusted' };
  }
}

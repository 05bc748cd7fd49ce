import type { RevokeReason } from '../errors/task-revoked.error';
import type { SignatureDict } from '../protocol/signature-dict';
import { TaskMessage } from '../protocol/task-message';
import type { TaskContext } from '../task/task-context';

/**
 * What the worker does for a task's workflow links (Celery's `app/trace.py` and
 * `backends/base.py` around storing a result). The worker's settlement calls it before and after
 * storing an outcome; the canvas implements it (CanvasWorkflowSteps), so the worker knows nothing
 * of chains.
 */
export interface WorkflowSteps {
  /**
   * Before SUCCESS is stored, as Celery does: sends the link callbacks and the chain's next step
   * with the result. Returns their result tuples: the `children` of the stored meta. Throws when
   * they could not be sent; the task then fails with that error.
   */
  beforeSuccess(message: TaskMessage, result: unknown): Promise<unknown[]>;
  /** After SUCCESS is stored: counts the task in its chord and, when it completed it, sends the body. */
  afterSuccess(message: TaskMessage): Promise<void>;
  /**
   * After FAILURE is stored: stores it on the chain's remaining steps too (sent to their reply_to
   * as well, so an rpc:// caller waiting on the chain's last step hears of it), counts the task in
   * its chord, calls the errbacks registered here to take `(request, exc, traceback)` with the
   * failed task's context (`request`), and sends the others with the failed task's id.
   */
  afterFailure(message: TaskMessage, error: unknown, request: TaskContext): Promise<void>;
  /**
   * Sends what a task asked to be replaced by (Celery's `Task.replace`), under the task's id, with
   * its callbacks, errbacks, chord membership and remaining chain steps. Throws when it cannot be
   * sent, or is no valid replacement; the task then fails with that error.
   */
  replace(message: TaskMessage, replacement: SignatureDict): Promise<void>;
  /** After REVOKED is stored: counts the task in its chord, as Celery's `mark_as_revoked` does, so the chord does not wait for ever. */
  afterRevoked(message: TaskMessage, reason: RevokeReason): Promise<void>;
}

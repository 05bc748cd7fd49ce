import type { ChordCounterStore } from '../backend/chord-counter-store.interface';
import type { CeleryClient } from '../client/celery-client';
import { SendTaskOptions } from '../client/send-task-options';
import { toExceptionInfo, tracebackOf } from '../protocol/exception-info';
import { ExceptionInfo, TaskResultMeta } from '../protocol/result-meta';
import { SignatureDict } from '../protocol/signature-dict';
import { TaskMessage } from '../protocol/task-message';
import { PROPAGATE_STATES, TaskState } from '../protocol/task-states';
import { CeleryLogger } from '../utils/logger';
import type { WorkflowSteps } from '../worker/workflow-steps';
import { CanvasPublisher, resultIdOf } from '../client/canvas/canvas-publisher';
import { chordErrorInfo } from '../client/canvas/chord-error';
import { groupDict } from '../client/canvas/composite-dicts';
import { asResultTuple } from '../client/canvas/result-tuple';
import { replacementFor } from './task-replacement';
import { runInTaskContext, TaskContext } from '../task/task-context';
import type { TaskRegistry } from '../task/task-registry';

/**
 * The worker's side of the canvas, as Celery 5.2.6's worker does it (celery-protocol.md §7):
 * callbacks and the chain's next step are sent before SUCCESS is stored; after a failure the
 * error is stored on the chain's remaining steps, errbacks taking `(request, exc, traceback)`
 * are called in-process and the others sent as a group with the failed task's id; chord header tasks are counted with the backend's atomic counter, and the
 * task that completes the header sends the body with the header's results in order.
 */
export class CanvasWorkflowSteps implements WorkflowSteps {
  private readonly publisher: CanvasPublisher;

  constructor(
    private readonly client: CeleryClient,
    private readonly logger: CeleryLogger,
    /** The tasks of this worker: errbacks registered here with `errbackWithRequest` are called in-process. */
    private readonly registry: TaskRegistry,
  ) {
    this.publisher = new CanvasPublisher(client);
  }

  async beforeSuccess(message: TaskMessage, result: unknown): Promise<unknown[]> {
    const { callbacks, chain } = message.embed;
    if (!callbacks?.length && !chain?.length) return [];
    const base = workflowOptions(message);
    const children: unknown[] = [];
    if (callbacks?.length) {
      // One callback is sent as is; several as Celery does: each group on its own, the rest as one group.
      const signatures = callbacks.length === 1 ? callbacks : [...callbacks.filter(isGroup), ...groupOfPlain(callbacks)];
      for (const callback of signatures) {
        children.push(asResultTuple(await this.publisher.apply(this.publisher.freeze(callback), [result], base)));
      }
    }
    if (chain?.length) {
      const next = chain[chain.length - 1];
      const applied = await this.publisher.apply(this.publisher.freeze(next), [result], { ...base, chain: chain.slice(0, -1) });
      children.push(asResultTuple(applied));
    }
    return children;
  }

  async afterSuccess(message: TaskMessage): Promise<void> {
    if (message.group && message.embed.chord) await this.countChordPart(message.group, message.id, message.embed.chord, message, message.groupIndex);
  }

  async afterFailure(message: TaskMessage, error: unknown, request: TaskContext): Promise<void> {
    const info = toExceptionInfo(error);
    const traceback = tracebackOf(error);
    if (message.group && message.embed.chord) await this.countChordPart(message.group, message.id, message.embed.chord, message, message.groupIndex);
    for (const step of message.embed.chain ?? []) {
      const stepId = step.options.task_id as string | undefined;
      if (stepId === undefined) continue;
      await this.storeFailure(stepId, info, traceback, step.options);
      const stepChord = step.options.chord as SignatureDict | undefined;
      if (stepChord && typeof step.options.group_id === 'string') await this.countChordPart(step.options.group_id, stepId, stepChord, message, step.options.group_index as number | undefined);
    }
    if (message.embed.errbacks?.length) await this.runErrbacks(message, error, traceback, request);
  }

  async replace(message: TaskMessage, replacement: SignatureDict): Promise<void> {
    await this.publisher.apply(this.publisher.freeze(replacementFor(message, replacement)), [], workflowOptions(message));
  }

  async afterRevoked(message: TaskMessage): Promise<void> {
    if (message.group && message.embed.chord) await this.countChordPart(message.group, message.id, message.embed.chord, message, message.groupIndex);
  }

  /**
   * Joins a chord joined by our counter: the one call that completes the header reads the
   * header's results and sends the body. A chord joined by `celery.chord_unlock` has no counter
   * and is left to that task.
   */
  private async countChordPart(groupId: string, taskId: string, body: SignatureDict, message: TaskMessage, groupIndex?: number | null): Promise<void> {
    const store = this.counterStore();
    if (!store) return;
    const headerIds = await store.countChordPart(groupId, taskId, groupIndex);
    if (!headerIds) return;
    await joinChord(this.publisher, store, headerIds, body, workflowOptions(message), this.client);
    await store.deleteChordCounter(groupId);
  }

  private counterStore(): ChordCounterStore | null {
    return this.client.resultBackend.capabilities.chordCounter ?? null;
  }

  /**
   * Celery's `_call_task_errbacks`: an errback whose task is registered here with
   * `errbackWithRequest` is called in this process with `(request, exc, traceback, ...its args)`
   * (in the failed task's context, so currentTask() and Nest's pipeline work in it); the others
   * are sent as one group with the failed task's id. An in-process errback that throws is logged:
   * the task's failure is stored already and stays as it is.
   */
  private async runErrbacks(message: TaskMessage, error: unknown, traceback: string | null, request: TaskContext): Promise<void> {
    const toSend: SignatureDict[] = [];
    for (const errback of message.embed.errbacks ?? []) {
      const task = errback.subtask_type === null ? this.registry.get(errback.task) : undefined;
      if (!task?.options.errbackWithRequest) {
        toSend.push(errback);
        continue;
      }
      try {
        const call = task.prepare([request, error, traceback, ...errback.args], errback.kwargs);
        await runInTaskContext(request, call);
      } catch (errbackError) {
        this.logger.error(`Errback ${errback.task} of task ${message.task}[${message.id}] failed: ${(errbackError as Error)?.message ?? String(errbackError)}`);
      }
    }
    if (toSend.length > 0) await this.sendErrbacks(toSend, message.id, workflowOptions(message));
  }

  private async sendErrbacks(errbacks: SignatureDict[], failedId: string, base: SendTaskOptions): Promise<void> {
    await this.publisher.apply(this.publisher.freeze(groupDict(errbacks)), [failedId], base);
  }

  /**
   * A chain step's FAILURE, stored as Celery's `mark_as_failure` does from the step's own options
   * (`Context(chain_elem)`): under its id, its group, and to its `reply_to`, where an rpc://
   * caller waiting on the chain's result listens.
   */
  private async storeFailure(taskId: string, info: ExceptionInfo, traceback: string | null, options: Record<string, unknown>): Promise<void> {
    const groupId = typeof options.group_id === 'string' ? options.group_id : null;
    const replyTo = typeof options.reply_to === 'string' && options.reply_to !== '' ? options.reply_to : null;
    const meta: TaskResultMeta = { taskId, status: TaskState.FAILURE, result: info, traceback, children: [], dateDone: new Date(), groupId };
    await this.client.resultBackend.storeResult(meta, { replyTo, correlationId: taskId }).catch((error: Error) => {
      this.logger.error(`Could not store the FAILURE of chain step ${taskId}: ${error.message}`);
    });
  }
}

/**
 * Sends a chord's body with the header's values in header order, or, when a header task failed,
 * stores Celery's ChordError as the body's FAILURE and sends the body's errbacks with its id
 * (Celery's `chord_error_from_stack`). Shared by the counter join and `celery.chord_unlock`.
 */
export async function joinChord(
  publisher: CanvasPublisher,
  store: Pick<ChordCounterStore, 'getResults'> | null,
  headerIds: readonly string[],
  body: SignatureDict,
  base: SendTaskOptions,
  client: CeleryClient,
): Promise<void> {
  const metas = store ? await store.getResults(headerIds) : await Promise.all(headerIds.map((id) => client.resultBackend.getResult(id)));
  const failedIndex = metas.findIndex((meta) => meta !== null && PROPAGATE_STATES.has(meta.status));
  const frozenBody = publisher.freeze(body);
  if (failedIndex < 0) {
    await publisher.apply(frozenBody, [metas.map((meta) => meta?.result ?? null)], base);
    return;
  }
  const cause = metas[failedIndex]!.result as ExceptionInfo;
  const bodyId = resultIdOf(frozenBody);
  await client.resultBackend.storeResult({
    taskId: bodyId,
    status: TaskState.FAILURE,
    result: chordErrorInfo(headerIds[failedIndex], cause),
    traceback: null,
    children: [],
    dateDone: new Date(),
  });
  const errbacks = frozenBody.options.link_error as SignatureDict[] | undefined;
  if (errbacks?.length) await publisher.apply(publisher.freeze(groupDict(errbacks)), [bodyId], base);
}

/** parent_id = the finishing task, root_id = its root (celery-protocol.md §7.2). */
function workflowOptions(message: TaskMessage): SendTaskOptions {
  return { parentId: message.id, rootId: message.rootId ?? message.id, ...(message.priority !== null ? { priority: message.priority } : {}) };
}

function isGroup(signature: SignatureDict): boolean {
  return signature.subtask_type === 'group';
}

function groupOfPlain(callbacks: SignatureDict[]): SignatureDict[] {
  const plain = callbacks.filter((callback) => !isGroup(callback));
  return plain.length > 0 ? [groupDict(plain)] : [];
}

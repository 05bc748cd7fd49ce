import type { DeliveredMessage } from '../broker/broker.interface';
import { CeleryError } from '../errors/celery.error';
import { ResultEncodeError } from '../errors/result-encode.error';
import type { TaskMessage } from '../protocol/task-message';
import type { CeleryLogger } from '../utils/logger';
import { createTaskContext } from './create-task-context';
import type { ExecutionSettings } from './execution-settings';
import type { ResultRecorder } from './result-recorder';
import { TaskContext, trailOf } from '../task/task-context';
import type { TaskDefinition } from '../task/task-definition';
import { failed, FailureKind, ReplacedOutcome, RetriedOutcome, SettledOutcome, TaskOutcome } from './task-outcome';
import type { PartialTaskMessage } from './worker-monitor';
import type { WorkerObservers } from './worker-observers';
import type { WorkflowSteps } from './workflow-steps';

/** A delivery being settled, with what is known of it. The worker's accepted tasks fit. */
export interface SettlingTask {
  readonly delivery: DeliveredMessage;
  /** The message as far as it could be read: a refused invalid message may only have its id. */
  readonly message: TaskMessage | PartialTaskMessage;
  /** The registered task; absent when the message names none this worker knows. */
  readonly task?: TaskDefinition;
  /** How it was to run; absent for a message refused before that was decided. */
  readonly settings?: ExecutionSettings;
  /** True once the message was acked (before running, without acksLate). */
  acked: boolean;
  /** Set when the task's code ran (prerun was told): its context for the signal handlers, and how long it ran. */
  run?: { readonly context: TaskContext; readonly runtimeMs: number };
}

export interface SettlementDependencies {
  recorder: ResultRecorder;
  observers: WorkerObservers;
  logger: CeleryLogger;
  /** The worker's node name, in the context signal handlers get for tasks that did not run. */
  hostname: string;
  /** Chains, callbacks, errbacks and chord joins; none when omitted. */
  workflow?: WorkflowSteps;
  /** Publishes the next try of a task that asked to retry; rejects when the broker did not take it. */
  republish(task: SettlingTask & { message: TaskMessage }, retry: RetriedOutcome): Promise<void>;
}

/** Shared by every task that sent nothing: never written to. */
const NO_CHILDREN: unknown[] = [];

/** The signal of a context built for a task that never ran: nothing will abort it. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * The one place a task's outcome is settled, as one script (Celery's `app/trace.py` plus the
 * request's `on_success` / `on_failure`), whatever path led here:
 *
 * 1. before storing: a success sends its callbacks and chain's next step (their failure fails
 *    the task); a retry stores RETRY and publishes the next try (its failure fails the task); a
 *    replaced task sends its replacement (its failure fails the task), and stores nothing;
 * 2. the outcome is stored (SUCCESS unless ignore_result; a value that cannot be stored fails
 *    the task); when the store itself fails, an unacked message goes back to its queue and
 *    nothing else happens — it will run again;
 * 3. the workflow continues: a success counts in its chord; a failure stores FAILURE on the
 *    chain's remaining steps (to their reply_to too), counts in its chord and sends the errbacks;
 *    a revoke counts in its chord;
 * 4. monitors (events, metrics, logs) and the app's signal handlers are told what was stored;
 * 5. the message is acked — or rejected without requeue when it was refused, so a dead-letter
 *    exchange keeps it — then the postrun hook runs.
 */
export class TaskSettlement {
  constructor(private readonly deps: SettlementDependencies) {}

  async settle(task: SettlingTask, outcome: TaskOutcome): Promise<SettledOutcome> {
    const message = task.message;
    // Celery's `children`: what the task sent while it ran, then its callbacks and chain's next step.
    let children = task.run ? trailOf(task.run.context) : NO_CHILDREN;
    if (outcome.state === 'SUCCESS' && isComplete(message) && this.deps.workflow) {
      try {
        const linked = await this.deps.workflow.beforeSuccess(message, outcome.value);
        if (linked.length > 0) children = [...children, ...linked];
      } catch (error) {
        outcome = failed(error, 'next-step-not-sent');
      }
    }
    if (outcome.state === 'IGNORED') outcome = await this.replace(task, outcome);
    if (outcome.state === 'RETRY') outcome = await this.retry(task, outcome);
    const stored = await this.store(task, outcome, children);
    if (stored === null) return this.handBack(task);
    outcome = stored;
    await this.continueWorkflow(task, outcome);
    await this.tell(task, outcome);
    if (outcome.state === 'FAILURE' && outcome.why === 'refused') task.delivery.reject(false);
    else if (!task.acked) task.delivery.ack();
    task.acked = true;
    if (task.run) await this.deps.observers.sendSignal('postrun', task.run.context, { runtimeMs: task.run.runtimeMs, state: outcome.state });
    return outcome;
  }

  /**
   * A message refused before even its task id could be read: nothing to store or continue, so it
   * is only logged and rejected without requeue (a dead-letter exchange keeps it).
   */
  rejectUnreadable(delivery: DeliveredMessage, error: Error): void {
    this.deps.logger.error(`Rejected task message (task id unknown) from queue ${delivery.deliveryInfo.queue}: ${error.message}`);
    delivery.reject(false);
    this.deps.observers.notify('taskRejected', null, false);
  }

  /**
   * RETRY is stored before the next try is sent, not after as Celery does: that try may run on
   * another worker (Python too) and store SUCCESS first, which a later RETRY would overwrite for
   * good. A RETRY that cannot be stored does not keep the retry from being sent; a retry that
   * cannot be sent fails the task with why, rather than losing it.
   */
  private async retry(task: SettlingTask, outcome: RetriedOutcome): Promise<TaskOutcome> {
    const message = task.message as TaskMessage;
    await this.deps.recorder.retry(message, queueOf(task), outcome.cause).catch((error: Error) => this.logStoreError(message, error));
    try {
      await this.deps.republish(task as SettlingTask & { message: TaskMessage }, outcome);
      return outcome;
    } catch (error) {
      this.deps.logger.error(`Could not republish task ${label(message)} for a retry: ${(error as Error)?.message ?? String(error)}`);
      return failed(error, 'retry-not-sent');
    }
  }

  /**
   * Sends the replacement a task asked for, in its place (Celery's `Task.replace`, which sends
   * it before raising Ignore): nothing is stored for the task then. A replacement that cannot be
   * sent fails the task with why, as the error raised by `sig.delay()` fails it in Celery.
   */
  private async replace(task: SettlingTask, outcome: ReplacedOutcome): Promise<TaskOutcome> {
    try {
      if (!this.deps.workflow) throw new CeleryError('this worker was built without workflow steps, so it cannot send a replacement');
      await this.deps.workflow.replace(task.message as TaskMessage, outcome.replacement);
      return outcome;
    } catch (error) {
      return failed(error, 'replacement-not-sent');
    }
  }

  /** Stores the outcome; returns what was stored (a success may turn into a failure), or null when the store failed. */
  private async store(task: SettlingTask, outcome: TaskOutcome, children: unknown[]): Promise<TaskOutcome | null> {
    const { recorder } = this.deps;
    const message = task.message;
    const queue = queueOf(task);
    try {
      switch (outcome.state) {
        case 'SUCCESS':
          if (task.settings?.ignoreResult) return outcome;
          try {
            await recorder.success(message as TaskMessage, queue, outcome.value, children);
            return outcome;
          } catch (error) {
            if (!(error instanceof ResultEncodeError)) throw error;
            const unstorable = failed(error, 'result-not-storable');
            await recorder.failure(message, queue, error);
            return unstorable;
          }
        case 'RETRY':
          return outcome; // stored before the next try was sent
        case 'IGNORED':
          return outcome; // the replacement stores its result under this task's id
        case 'FAILURE':
          await recorder.failure(message, queue, outcome.error);
          return outcome;
        case 'REVOKED':
          await recorder.revoked(message as TaskMessage, queue, outcome.reason);
          return outcome;
      }
    } catch (error) {
      this.logStoreError(message, error as Error);
      // A refused message is dead-lettered all the same; one already acked is gone: carry on with what happened.
      if (task.acked || (outcome.state === 'FAILURE' && outcome.why === 'refused')) return outcome;
      return null;
    }
  }

  /** The store failed and the message is still ours: back to its queue, to run again (acksLate, or not run yet). */
  private handBack(task: SettlingTask): SettledOutcome {
    task.delivery.reject(true);
    task.acked = true;
    this.deps.observers.notify('taskRejected', task.message, true);
    return { state: 'HANDED_BACK' };
  }

  /** Workflow work after the outcome is stored; its failure is logged, never lost silently. */
  private async continueWorkflow(task: SettlingTask, outcome: TaskOutcome): Promise<void> {
    const { message } = task;
    const workflow = this.deps.workflow;
    if (!workflow || !isComplete(message)) return;
    try {
      if (outcome.state === 'SUCCESS') await workflow.afterSuccess(message);
      else if (outcome.state === 'FAILURE') await workflow.afterFailure(message, outcome.error, this.contextOf(task));
      else if (outcome.state === 'REVOKED') await workflow.afterRevoked(message, outcome.reason);
    } catch (error) {
      this.deps.logger.error(`Workflow step after task ${label(message)} failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** Monitors and the app's signal handlers learn what was stored; a failure is logged at ERROR with its exception type. */
  private async tell(task: SettlingTask, outcome: TaskOutcome): Promise<void> {
    const { observers } = this.deps;
    const message = task.message;
    const runtimeSeconds = task.run ? task.run.runtimeMs / 1000 : null;
    switch (outcome.state) {
      case 'SUCCESS':
        observers.notify('taskSucceeded', message as TaskMessage, outcome.value, runtimeSeconds ?? 0);
        if (task.run) await observers.sendSignal('success', task.run.context, { result: outcome.value, runtimeMs: task.run.runtimeMs });
        return;
      case 'RETRY':
        observers.notify('taskRetried', message as TaskMessage, outcome.cause);
        if (task.run) await observers.sendSignal('retry', task.run.context, { error: outcome.cause, runtimeMs: task.run.runtimeMs });
        return;
      case 'IGNORED':
        observers.notify('taskReplaced', message as TaskMessage, outcome.replacement);
        return;
      case 'REVOKED':
        observers.notify('taskRevoked', message as TaskMessage, outcome.reason);
        await observers.sendSignal('revoked', this.contextOf(task), { reason: outcome.reason });
        return;
      case 'FAILURE':
        this.logFailure(task, outcome.error, outcome.why);
        observers.notify('taskFailed', message, outcome.error, runtimeSeconds);
        if (outcome.why === 'refused') observers.notify('taskRejected', message, false);
        // Signal handlers are the app's: they hear of failures of its own tasks, not of messages for tasks it does not have.
        if (task.task && isComplete(message)) await observers.sendSignal('failure', this.contextOf(task), { error: outcome.error, runtimeMs: task.run?.runtimeMs });
        return;
    }
  }

  private contextOf(task: SettlingTask): TaskContext {
    return task.run?.context ?? createTaskContext(task.message as TaskMessage, task.delivery.deliveryInfo, this.deps.hostname, NEVER_ABORTED);
  }

  private logFailure(task: SettlingTask, error: unknown, why: FailureKind): void {
    const name = label(task.message);
    const prefix = why === 'refused' ? `Rejected task message ${name} from queue ${task.delivery.deliveryInfo.queue}` : `Task ${name} ${FAILURE_VERBS[why]}`;
    this.deps.logger.error(`${prefix}: ${describeError(error)}`);
  }

  private logStoreError(message: TaskMessage | PartialTaskMessage, error: Error): void {
    this.deps.logger.error(`Could not store the result of task ${label(message)}: ${error?.message ?? String(error)}`);
  }
}

const FAILURE_VERBS: Record<Exclude<FailureKind, 'refused'>, string> = {
  raised: 'raised',
  'worker-lost': 'failed',
  'retry-not-sent': 'failed, its retry could not be sent',
  'next-step-not-sent': 'failed, its next workflow step could not be sent',
  'result-not-storable': 'failed, its result cannot be stored',
  'replacement-not-sent': 'failed, its replacement could not be sent',
};

/** A message that was read whole (not the id-only remains of an invalid one): its workflow can go on. */
function isComplete(message: TaskMessage | PartialTaskMessage): message is TaskMessage {
  return message.embed !== undefined;
}

/** Celery's `queue` of a result: the delivery's routing key. */
function queueOf(task: SettlingTask): string {
  return task.delivery.deliveryInfo.routingKey;
}

function label(message: TaskMessage | PartialTaskMessage): string {
  return `${message.task ?? '?'}[${message.id}]`;
}

/** `TypeError: x is not a function`: Celery's worker names the exception type in its ERROR line too. */
function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error'}: ${error.message}`;
  return String(error);
}

import type { SendTaskOptions } from '../client/send-task-options';
import type { TaskCall } from '../client/celery-client';

/**
 * A task the app sent, as the testing kit records it: the call as it was made (name, args,
 * options such as `countdown`, exactly as given) and what it became (its id, the queue it was
 * routed to, its eta…). Plain data, for `toEqual` / `toMatchObject`. Every call the client
 * prepares is one: the app's sends, the steps of its workflows, outbox enqueues; a retry is not
 * (it is the same task again). Celery keeps no such record; Python tests mock `apply_async`.
 */
export interface SentTask {
  /** The task id (Celery's `task_id`). */
  readonly id: string;
  /** The registered name it was sent by. */
  readonly name: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** The options as the call gave them (kwargs included), unset ones left out: `{ countdown: 60, queue: 'emails' }`. */
  readonly options: Readonly<SendTaskOptions>;
  /** Where it was sent after routing: the call's queue, the task's own, `taskRoutes`, or the default queue. */
  readonly queue: string;
  /** The earliest time it may run (from `countdown` or `eta`); null: at once. */
  readonly eta: Date | null;
  readonly expires: Date | null;
  /** Application headers (the `headers` option), as the task sees them in `currentTask().headers`. */
  readonly headers: Readonly<Record<string, unknown>>;
  readonly priority: number | null;
  /** The task whose code sent it (Celery's `parent_id`); null when sent from outside a task. */
  readonly parentId: string | null;
  readonly rootId: string | null;
  /** The group or chord header it is a member of. */
  readonly groupId: string | null;
}

/** The record of one prepared call: copies, so that what the caller changes later does not change the record. */
export function toSentTask(call: TaskCall): SentTask {
  const { message } = call;
  const options = Object.fromEntries(Object.entries(call.options).filter(([, value]) => value !== undefined)) as SendTaskOptions;
  return {
    id: message.id,
    name: call.name,
    args: [...call.args],
    kwargs: { ...message.kwargs },
    options,
    queue: call.queue,
    eta: message.eta,
    expires: message.expires,
    headers: { ...message.customHeaders },
    priority: message.priority,
    parentId: message.parentId,
    rootId: message.rootId,
    groupId: message.group,
  };
}

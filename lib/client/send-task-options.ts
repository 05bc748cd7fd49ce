import type { SignatureDict, SignatureLike } from '../protocol/signature-dict';

/**
 * Options of one task call, Celery's `apply_async` / `send_task` arguments in camelCase.
 */
export interface SendTaskOptions {
  /** Keyword arguments (Celery: `kwargs`). */
  kwargs?: Record<string, unknown>;
  /** Use this id instead of a new UUID (Celery: `task_id`). */
  taskId?: string;
  /** Queue to send to; declared the way a Celery worker declares it (Celery: `queue`). Default: the module's default queue. */
  queue?: string;
  /** Exchange to publish to, with `routingKey` (Celery: `exchange`). */
  exchange?: string;
  /** Routing key (Celery: `routing_key`). */
  routingKey?: string;
  /** Run no earlier than this many seconds from now (Celery: `countdown`). */
  countdown?: number;
  /** Run no earlier than this time (Celery: `eta`); ISO strings with an offset are accepted. */
  eta?: Date | string;
  /** Seconds from now, or a time, after which the task must not run (Celery: `expires`). */
  expires?: number | Date | string;
  /** 0–255; higher runs first on queues declared with x-max-priority (Celery: `priority`). */
  priority?: number;
  /** Extra application headers, visible to the task as its context headers (Celery: `headers`). */
  headers?: Record<string, unknown>;
  /**
   * Stamps, `{name: value}` (Celery 5.3+'s Stamping API: `sig.stamp(...)`, sent as the
   * `stamped_headers` and `stamps` headers). Retries and workflow steps keep them; workers can be
   * told to discard tasks by stamp (`control.revokeByStampedHeaders`).
   */
  stamps?: Record<string, unknown>;
  /**
   * How many `Task.replace()` calls led to this task (Celery 5.6: `replaced_task_nesting`, a
   * header); set on the tasks of a replacement, and kept by workflow steps.
   */
  replacedTaskNesting?: number;
  /** Ask the worker not to store the SUCCESS result (Celery: `ignore_result`). */
  ignoreResult?: boolean;
  /** Hard and soft time limits in seconds (Celery: `time_limit`, `soft_time_limit`). */
  timeLimit?: number;
  softTimeLimit?: number;
  /** Name shown in logs and monitors instead of the task name (Celery: `shadow`). */
  shadow?: string;
  /** Workflow ids, set when a task sends another one (Celery: `parent_id`, `root_id`). */
  parentId?: string;
  rootId?: string;
  /** Task(s) to call with this task's result when it succeeds (Celery: `link`). */
  link?: SignatureLike | SignatureLike[];
  /** Task(s) to call with this task's id when it fails (Celery: `link_error`). */
  linkError?: SignatureLike | SignatureLike[];
  /** Member of this group: its id goes in the `group` header (Celery: `group_id`); set by group() and chord(). */
  groupId?: string;
  /** Position in a chord header (Celery: `group_index`); set by chord(). */
  groupIndex?: number;
  /** Chain steps still to run after this task, last step first (Celery's `chain` option); set by chain(). */
  chain?: SignatureDict[];
  /** The chord body this task is a header member of (Celery's `chord` option); set by chord(). */
  chord?: SignatureDict;
  /**
   * Route the call as if it were a call of this task (Celery's `route_name`): `celery.map`,
   * `celery.starmap` and chunks go where the task they run goes. Default: the task's own name.
   */
  routeName?: string;
  /**
   * Sent from inside a running task: list it in that task's `children` (Celery: `add_to_parent`,
   * default true), which `AsyncResult.children()` and `collect()` follow.
   */
  addToParent?: boolean;
  /** Where an rpc:// result goes, when not to this client (Celery: `reply_to`); kept by chain steps. */
  replyTo?: string;
  /**
   * SQS FIFO queues only (a queue name ending in `.fifo`): the message group, whose messages are
   * delivered in order, one at a time (Celery: `apply_async(MessageGroupId=…)`). Default `default`, as kombu.
   */
  messageGroupId?: string;
  /**
   * SQS FIFO queues only: a second message with the same id within five minutes is dropped by SQS
   * (Celery: `apply_async(MessageDeduplicationId=…)`). Default: a new UUID per message, as kombu.
   */
  messageDeduplicationId?: string;
}

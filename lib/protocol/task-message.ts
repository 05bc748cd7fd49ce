import { TaskEmbed } from './signature-dict';

/**
 * One task invocation, independent of the protocol version it arrived in (v1 body-dict or v2
 * headers + body, celery-protocol.md §2 and §3). Encoders and decoders translate between this
 * and the wire; everything above the protocol layer only sees this shape.
 */
export interface TaskMessage {
  id: string;
  /** Registered task name (header `task`). */
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  rootId: string | null;
  parentId: string | null;
  /** Group id when the task is a member of a group or chord header. */
  group: string | null;
  groupIndex: number | null;
  /** 0 for the first attempt. */
  retries: number;
  /** Earliest execution time. */
  eta: Date | null;
  /** After this the task must not run (it is stored REVOKED). */
  expires: Date | null;
  /** Seconds: `[hard, soft]`, Celery's `timelimit` header. */
  timeLimit: [number | null, number | null];
  /** Display name override (Celery's `shadow`). */
  shadow: string | null;
  /** Publisher node name, `gen<pid>@<host>`. */
  origin: string | null;
  /** The sender does not want a SUCCESS result stored. */
  ignoreResult: boolean;
  argsrepr: string | null;
  kwargsrepr: string | null;
  /** Application headers Celery does not define (`apply_async(headers=…)`). */
  customHeaders: Record<string, unknown>;
  /** AMQP reply_to: the rpc:// backend's reply queue of the sender. */
  replyTo: string | null;
  correlationId: string | null;
  priority: number | null;
}

/** The application headers of a protocol v2 task message, in the order Celery writes them. */
export const V2_HEADER_NAMES = [
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
] as const;

export const JSON_CONTENT_TYPE = 'application/json';
export const UTF8_ENCODING = 'utf-8';

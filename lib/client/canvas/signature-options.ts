import { SendTaskOptions } from '../send-task-options';
import { formatCeleryDate } from '../../protocol/celery-time';
import { SignatureDict, SignatureLike, toSignatureDict } from '../../protocol/signature-dict';
import { stampOptions, stampsOfOptions } from '../../protocol/stamps';

/**
 * Our option names and Celery's `apply_async` names as they appear in a signature dict's
 * `options` (celery-protocol.md §7.1): the one table both directions read.
 */
const OPTION_NAMES: readonly (readonly [keyof SendTaskOptions, string])[] = [
  ['taskId', 'task_id'],
  ['replyTo', 'reply_to'],
  ['groupId', 'group_id'],
  ['groupIndex', 'group_index'],
  ['chord', 'chord'],
  ['chain', 'chain'],
  ['link', 'link'],
  ['linkError', 'link_error'],
  ['queue', 'queue'],
  ['exchange', 'exchange'],
  ['routingKey', 'routing_key'],
  ['priority', 'priority'],
  ['countdown', 'countdown'],
  ['eta', 'eta'],
  ['expires', 'expires'],
  ['headers', 'headers'],
  ['ignoreResult', 'ignore_result'],
  ['timeLimit', 'time_limit'],
  ['softTimeLimit', 'soft_time_limit'],
  ['shadow', 'shadow'],
  ['parentId', 'parent_id'],
  ['rootId', 'root_id'],
  ['replacedTaskNesting', 'replaced_task_nesting'],
  ['messageGroupId', 'MessageGroupId'],
  ['messageDeduplicationId', 'MessageDeduplicationId'],
];

/** Options of ours (camelCase) as Celery writes them into a signature dict; dates as ISO text, signatures as dicts. */
export function toCeleryOptions(options: SendTaskOptions): Record<string, unknown> {
  const celery: Record<string, unknown> = {};
  for (const [ours, theirs] of OPTION_NAMES) {
    const value = options[ours];
    if (value === undefined) continue;
    celery[theirs] = value instanceof Date ? formatCeleryDate(value) : ours === 'link' || ours === 'linkError' ? signatureDicts(value as SignatureLike | SignatureLike[]) : value;
  }
  // Stamps are no option of one name: `stamped_headers` names them, each is an option of its own.
  return options.stamps ? { ...celery, ...stampOptions(options.stamps) } : celery;
}

/** A signature dict's options as options of a send; names we do not know are ignored, as Celery's publisher ignores them. */
export function fromCeleryOptions(options: Record<string, unknown>): SendTaskOptions {
  const ours: Record<string, unknown> = {};
  for (const [name, theirs] of OPTION_NAMES) {
    const value = options[theirs];
    if (value !== undefined && value !== null) ours[name] = value;
  }
  const stamps = stampsOfOptions(options);
  if (Object.keys(stamps).length > 0) ours.stamps = stamps;
  return ours as SendTaskOptions;
}

function signatureDicts(value: SignatureLike | SignatureLike[]): SignatureDict[] {
  return (Array.isArray(value) ? value : [value]).map(toSignatureDict);
}

import { chainDict, chordDict } from '../client/canvas/composite-dicts';
import { InvalidReplacementError } from '../errors/invalid-replacement.error';
import { SignatureDict } from '../protocol/signature-dict';
import { TaskMessage } from '../protocol/task-message';

/** Celery's built-in that gives a group replacing a task a body to link onto (builtins.py). */
const ACCUMULATE_TASK = 'celery.accumulate';

/** The header Celery 5.3+ counts replacements in (5.2.6 kept it in the request only). */
export const REPLACED_TASK_NESTING = 'replaced_task_nesting';

/**
 * What a task's replacement is sent as, following Celery's `Task.replace` (celery/app/task.py):
 *
 * - a group becomes a chord whose body is `celery.accumulate(index=0)`, so there is one task
 *   whose result stands for it;
 * - the task that finishes the replacement (a chain's last step, a chord's body) takes the
 *   replaced task's id and `reply_to` — a caller's `get()` on that id gets its result — and its
 *   group, group index and chord: the replaced task's place in a chord or group moves to it;
 * - the replaced task's callbacks go to that finishing task, its errbacks to every task that may
 *   fail (each step of a chain, a chord's body), as Celery's `link` / `link_error` place them;
 * - the replaced task's remaining chain steps follow the replacement, their ids kept;
 * - every task sent carries `replaced_task_nesting` = the replaced task's + 1.
 *
 * Throws InvalidReplacementError (Celery's ImproperlyConfigured) for a replacement that is part of
 * a chord of its own or an empty chain.
 */
export function replacementFor(message: TaskMessage, replacement: SignatureDict): SignatureDict {
  if (replacement.options.chord !== undefined && replacement.options.chord !== null) {
    throw new InvalidReplacementError(message.task, 'a signature replacing a task must not be part of a chord');
  }
  if (replacement.subtask_type === 'chain' && (replacement.kwargs.tasks as SignatureDict[]).length === 0) {
    throw new InvalidReplacementError(message.task, 'cannot replace a task with an empty chain');
  }
  let sig = replacement.subtask_type === 'group' ? chordDict(replacement, accumulate()) : replacement;
  sig = withErrbacks(sig, message.embed.errbacks ?? []);
  sig = onFinishingTask(sig, (task) => ({
    ...task,
    options: {
      ...task.options,
      link: [...((task.options.link as SignatureDict[] | undefined) ?? []), ...(message.embed.callbacks ?? [])],
      task_id: message.id,
      reply_to: message.replyTo ?? task.options.reply_to,
      group_id: message.group ?? undefined,
      group_index: message.groupIndex ?? undefined,
      chord: message.embed.chord ?? undefined,
    },
  }));
  const rest = [...(message.embed.chain ?? [])].reverse();
  if (rest.length > 0) sig = chainDict([sig, ...rest]);
  return withNesting(sig, nestingOf(message) + 1);
}

/** How many replacements led to this task (Celery's `request.replaced_task_nesting`), 0 for none. */
export function nestingOf(message: TaskMessage): number {
  const nesting = message.customHeaders[REPLACED_TASK_NESTING];
  return typeof nesting === 'number' && Number.isInteger(nesting) && nesting >= 0 ? nesting : 0;
}

function accumulate(): SignatureDict {
  return { task: ACCUMULATE_TASK, args: [], kwargs: { index: 0 }, options: {}, subtask_type: null, immutable: false };
}

/** Applies `change` to the task whose result stands for the signature: a chain's last step, a chord's body. */
function onFinishingTask(sig: SignatureDict, change: (task: SignatureDict) => SignatureDict): SignatureDict {
  switch (sig.subtask_type) {
    case 'chain': {
      const tasks = [...(sig.kwargs.tasks as SignatureDict[])];
      tasks[tasks.length - 1] = onFinishingTask(tasks[tasks.length - 1], change);
      return { ...sig, kwargs: { ...sig.kwargs, tasks } };
    }
    case 'chord':
      return { ...sig, kwargs: { ...sig.kwargs, body: onFinishingTask(sig.kwargs.body as SignatureDict, change) } };
    default:
      return change(sig);
  }
}

/** Celery's `link_error` placement: on a task itself, on every step of a chain, on a chord's body. */
function withErrbacks(sig: SignatureDict, errbacks: SignatureDict[]): SignatureDict {
  if (errbacks.length === 0) return sig;
  switch (sig.subtask_type) {
    case 'chain':
      return { ...sig, kwargs: { ...sig.kwargs, tasks: (sig.kwargs.tasks as SignatureDict[]).map((step) => withErrbacks(step, errbacks)) } };
    case 'chord':
      return { ...sig, kwargs: { ...sig.kwargs, body: withErrbacks(sig.kwargs.body as SignatureDict, errbacks) } };
    default:
      return { ...sig, options: { ...sig.options, link_error: [...((sig.options.link_error as SignatureDict[] | undefined) ?? []), ...errbacks] } };
  }
}

/** `replaced_task_nesting` in the headers of every task the replacement sends (Celery 5.6 sets it on each chain step too). */
function withNesting(sig: SignatureDict, nesting: number): SignatureDict {
  switch (sig.subtask_type) {
    case 'chain':
    case 'group':
      return { ...sig, kwargs: { ...sig.kwargs, tasks: (sig.kwargs.tasks as SignatureDict[]).map((task) => withNesting(task, nesting)) } };
    case 'chord':
      return { ...sig, kwargs: { ...sig.kwargs, header: withNesting(sig.kwargs.header as SignatureDict, nesting), body: withNesting(sig.kwargs.body as SignatureDict, nesting) } };
    default: {
      const headers = (sig.options.headers as Record<string, unknown> | undefined) ?? {};
      return { ...sig, options: { ...sig.options, headers: { ...headers, [REPLACED_TASK_NESTING]: nesting } } };
    }
  }
}

import { randomUUID } from 'node:crypto';
import { AsyncResult } from '../async-result';
import type { CeleryClient } from '../celery-client';
import { SendTaskOptions } from '../send-task-options';
import { ResultTuple, SignatureDict } from '../../protocol/signature-dict';
import { chordDict, chunksAsGroup } from './composite-dicts';
import { GroupResult } from './group-result';
import { asResultTuple } from './result-tuple';
import { addToParentTrail, currentTaskOrUndefined } from '../../task/task-context';
import { fromCeleryOptions } from './signature-options';

/** How a chord's header is joined; see ApplyOptions.chordJoin. */
export type ChordJoin = 'counter' | 'chord_unlock';

/** What applying a signature gives: a task's result, or a group's. */
export type AppliedResult = AsyncResult | GroupResult;

/** Celery's built-in join task for backends without native chords (celery/app/builtins.py). */
export const CHORD_UNLOCK_TASK = 'celery.chord_unlock';

/** Options of a composite that its tasks inherit (queue, priority…), not its ids or links. */
const NOT_INHERITED = new Set(['task_id', 'group_id', 'group_index', 'chord', 'chain', 'link', 'link_error', 'parent_id', 'root_id']);

/**
 * Sends signatures the way Celery's canvas does (celery-protocol.md §7): a task as one message; a
 * chain as its first task with the rest in `embed.chain`, last step first; a group as one message
 * per member with the `group` header; a chord as its header tasks carrying the body in
 * `embed.chord`, joined by our counter or by `celery.chord_unlock`. Used by the client
 * (applyAsync) and by the worker (next chain step, callbacks, chord bodies), so both publish the
 * same bytes.
 */
export class CanvasPublisher {
  constructor(
    private readonly client: CeleryClient,
    private readonly settings: { chordJoin?: ChordJoin } = {},
  ) {}

  /**
   * Freezes (assigns every id), sends, and returns the result handle (Celery's `apply_async`).
   * Sent from inside a running task, the workflow is listed in its `children` as Celery lists it:
   * a chain by its first task, a chord by its header, a group or a task by itself.
   */
  async applyAsync(dict: SignatureDict, options: { addToParent?: boolean } = {}): Promise<AppliedResult> {
    const frozen = this.freeze(dict);
    await this.apply(frozen, [], {});
    if (options.addToParent !== false && currentTaskOrUndefined()) addToParentTrail(asResultTuple(this.resultOf(firstSent(frozen))));
    return this.resultOf(frozen);
  }

  /**
   * Gives every task of the workflow its id and reply_to (Celery's `freeze()`), upgrading a group
   * followed by another step into a chord and flattening nested chains, as Celery's chain does.
   */
  freeze(dict: SignatureDict): SignatureDict {
    const copy: SignatureDict = { ...dict, args: [...dict.args], kwargs: { ...dict.kwargs }, options: { ...dict.options } };
    switch (dict.subtask_type) {
      case 'chain':
        copy.kwargs.tasks = upgradeGroups(flattenChain(dict)).map((step) => this.freeze(step));
        return copy;
      case 'group':
        copy.options.group_id ??= randomUUID();
        copy.kwargs.tasks = (dict.kwargs.tasks as SignatureDict[]).map((member) => this.freeze(member));
        return copy;
      case 'chord':
        copy.kwargs.header = this.freeze(dict.kwargs.header as SignatureDict);
        copy.kwargs.body = this.freeze(dict.kwargs.body as SignatureDict);
        return copy;
      case 'chunks':
        return this.freeze(chunksAsGroup(dict)); // Celery sends chunks as their group of starmaps
      default:
        copy.options.task_id ??= randomUUID();
        copy.options.reply_to ??= this.client.replyTo;
        return copy;
    }
  }

  /** The result handle of a frozen signature, with `parent` links along chains and chords. */
  resultOf(frozen: SignatureDict): AppliedResult {
    const backend = this.client.resultBackend;
    switch (frozen.subtask_type) {
      case 'chain': {
        let previous: AppliedResult | null = null;
        for (const step of frozen.kwargs.tasks as SignatureDict[]) {
          const result: AppliedResult = this.resultOf(step);
          if (previous && !result.parent) result.parent = previous;
          previous = result;
        }
        return previous!;
      }
      case 'group':
        return new GroupResult(
          frozen.options.group_id as string,
          (frozen.kwargs.tasks as SignatureDict[]).map((member) => lastResult(this.resultOf(member))),
          backend,
        );
      case 'chord': {
        const body = this.resultOf(frozen.kwargs.body as SignatureDict);
        body.parent ??= this.resultOf(frozen.kwargs.header as SignatureDict);
        return body;
      }
      default:
        return new AsyncResult(frozen.options.task_id as string, backend);
    }
  }

  /**
   * Sends a frozen signature with `prepend` before its args (the previous step's result, unless
   * immutable) and `base` over its options (parent_id, root_id, the chain still to run).
   */
  async apply(frozen: SignatureDict, prepend: readonly unknown[], base: SendTaskOptions): Promise<AppliedResult> {
    switch (frozen.subtask_type) {
      case 'chain':
        await this.applyChain(frozen, [...prepend, ...frozen.args], { ...inherited(frozen), ...base });
        break;
      case 'group':
        await this.applyGroup(frozen, [...prepend, ...frozen.args], { ...inherited(frozen), ...base });
        break;
      case 'chord':
        await this.applyChord(frozen, [...prepend, ...frozen.args], { ...inherited(frozen), ...base });
        break;
      default:
        await this.applyTask(frozen, prepend, base);
    }
    return this.resultOf(frozen);
  }

  private async applyTask(frozen: SignatureDict, prepend: readonly unknown[], base: SendTaskOptions): Promise<void> {
    const own = fromCeleryOptions(frozen.options);
    const args = frozen.immutable ? frozen.args : [...prepend, ...frozen.args];
    // The steps after this task's own chain (a chord body's) come after it: first in the reversed list.
    const chain = base.chain || own.chain ? [...(base.chain ?? []), ...(own.chain ?? [])] : undefined;
    // map and starmap go where their task goes (Celery's `route_name`)
    const routeName = isMapLike(frozen) ? (frozen.kwargs.task as SignatureDict).task : undefined;
    // Only the workflow as a whole is a child of the task sending it (applyAsync), not each of its tasks.
    await this.client.send(frozen.task, args, { ...own, ...defined(base), chain, kwargs: frozen.kwargs, routeName, addToParent: false });
  }

  /** The first step is sent; the others travel in `embed.chain`, reversed, after any outer rest. */
  private async applyChain(frozen: SignatureDict, prepend: readonly unknown[], base: SendTaskOptions): Promise<void> {
    const [first, ...rest] = frozen.kwargs.tasks as SignatureDict[];
    const chain = [...(base.chain ?? []), ...rest.reverse()];
    await this.apply(first, prepend, { ...base, chain });
  }

  private async applyGroup(frozen: SignatureDict, prepend: readonly unknown[], base: SendTaskOptions): Promise<void> {
    const groupId = frozen.options.group_id as string;
    const { chain: _ignored, ...memberBase } = base;
    for (const member of frozen.kwargs.tasks as SignatureDict[]) {
      await this.apply(withMemberOptions(member, { group_id: groupId }), prepend, memberBase);
    }
  }

  /**
   * Starts the join (our counter row, or Celery's `celery.chord_unlock` task, sent first as
   * Celery does), then the header tasks, each carrying the body in `embed.chord`.
   */
  private async applyChord(frozen: SignatureDict, prepend: readonly unknown[], base: SendTaskOptions): Promise<void> {
    const header = frozen.kwargs.header as SignatureDict;
    const groupId = header.options.group_id as string;
    const { chain, ...memberBase } = base;
    const body = chain && chain.length > 0 ? withRest(frozen.kwargs.body as SignatureDict, chain) : (frozen.kwargs.body as SignatureDict);
    const members = header.kwargs.tasks as SignatureDict[];
    const headerIds = members.map((member) => resultIdOf(member));
    const counter = this.client.resultBackend.capabilities.chordCounter;
    const join = this.settings.chordJoin ?? (counter ? 'counter' : 'chord_unlock');
    if (join === 'counter' && counter) await counter.createChordCounter(groupId, headerIds);
    else await this.sendChordUnlock(groupId, body, headerIds);
    for (const [index, member] of members.entries()) {
      await this.apply(withMemberOptions(member, { group_id: groupId, group_index: index, chord: body }), prepend, memberBase);
    }
  }

  /** Celery's `fallback_chord_unlock`: `(group_id, body)`, the header's result tuples, 1 s countdown, the body's queue. */
  private async sendChordUnlock(groupId: string, body: SignatureDict, headerIds: string[]): Promise<void> {
    const result: ResultTuple[] = headerIds.map((id) => [[id, null], null]);
    await this.client.send(CHORD_UNLOCK_TASK, [groupId, body], {
      kwargs: { interval: null, max_retries: null, result },
      countdown: 1,
      ignoreResult: true,
      addToParent: false,
      queue: (body.options.queue as string | undefined) ?? undefined,
      priority: (body.options.priority as number | undefined) ?? undefined,
    });
  }
}

/** The id of the task whose result stands for the signature: a chain's last, a chord's body, a group's id. */
export function resultIdOf(dict: SignatureDict): string {
  switch (dict.subtask_type) {
    case 'chain': {
      const tasks = dict.kwargs.tasks as SignatureDict[];
      return resultIdOf(tasks[tasks.length - 1]);
    }
    case 'chord':
      return resultIdOf(dict.kwargs.body as SignatureDict);
    case 'group':
      return dict.options.group_id as string;
    default:
      return dict.options.task_id as string;
  }
}

/** The part of a frozen workflow a sending task lists in its children: a chain's first step, a chord's header. */
function firstSent(frozen: SignatureDict): SignatureDict {
  if (frozen.subtask_type === 'chain') return firstSent((frozen.kwargs.tasks as SignatureDict[])[0]);
  if (frozen.subtask_type === 'chord') return frozen.kwargs.header as SignatureDict;
  return frozen;
}

/** A group member's membership options go on the task that finishes it: a chain's last step. */
function withMemberOptions(dict: SignatureDict, options: Record<string, unknown>): SignatureDict {
  if (dict.subtask_type === 'chain') {
    const tasks = [...(dict.kwargs.tasks as SignatureDict[])];
    tasks[tasks.length - 1] = withMemberOptions(tasks[tasks.length - 1], options);
    return { ...dict, kwargs: { ...dict.kwargs, tasks } };
  }
  if (!isOneTask(dict)) return dict; // a nested group or chord keeps its own ids
  return { ...dict, options: { ...dict.options, ...options } };
}

/** The body with the outer chain's remaining steps (reversed list) to run after it. */
function withRest(body: SignatureDict, rest: SignatureDict[]): SignatureDict {
  if (body.subtask_type === 'chain') {
    return { ...body, kwargs: { ...body.kwargs, tasks: [...(body.kwargs.tasks as SignatureDict[]), ...[...rest].reverse()] } };
  }
  const own = (body.options.chain as SignatureDict[] | undefined) ?? [];
  return { ...body, options: { ...body.options, chain: [...rest, ...own] } };
}

function flattenChain(dict: SignatureDict): SignatureDict[] {
  return (dict.kwargs.tasks as SignatureDict[]).flatMap((step) => (step.subtask_type === 'chain' ? flattenChain(step) : [step]));
}

/** Celery's chain upgrade: a group followed by another step becomes a chord with that step as body. */
function upgradeGroups(steps: SignatureDict[]): SignatureDict[] {
  const upgraded: SignatureDict[] = [];
  for (const step of steps) {
    const previous = upgraded[upgraded.length - 1];
    if (previous?.subtask_type === 'group') upgraded[upgraded.length - 1] = chordDict(previous, step);
    else upgraded.push(step);
  }
  return upgraded;
}

function isMapLike(dict: SignatureDict): boolean {
  return dict.subtask_type === 'xmap' || dict.subtask_type === 'xstarmap';
}

/** Sent as one task message: a plain task, or map / starmap (one built-in task). */
function isOneTask(dict: SignatureDict): boolean {
  return dict.subtask_type === null || isMapLike(dict);
}

function inherited(dict: SignatureDict): SendTaskOptions {
  const options = Object.fromEntries(Object.entries(dict.options).filter(([name]) => !NOT_INHERITED.has(name)));
  return fromCeleryOptions(options);
}

function defined(options: SendTaskOptions): SendTaskOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as SendTaskOptions;
}

/** A group member that is itself a group counts as its results; Celery nests GroupResults the same way. */
function lastResult(result: AppliedResult): AsyncResult {
  return result as AsyncResult;
}

import type { AsyncResult } from '../async-result';
import type { CeleryClient } from '../celery-client';
import type { SendTaskOptions } from '../send-task-options';
import type { AnyTaskRef, TaskRef } from '../task-ref';
import type { TaskSignatureArguments } from '../typed-task-calls';
import { UnboundSignatureError } from '../../errors/unbound-signature.error';
import { SignatureDict, SignatureLike, toSignatureDict } from '../../protocol/signature-dict';
import { CanvasPublisher, ChordJoin } from './canvas-publisher';
import { stampCanvas } from './stamp-canvas';
import { toCeleryOptions } from './signature-options';
import { withPartialCall } from './partial-call';

/** Celery's `subtask_type`: which kind of workflow a signature dict describes (null: one task). */
export type SubtaskType = 'chain' | 'group' | 'chord' | 'chunks' | 'xmap' | 'xstarmap';

/** Options of applyAsync: those of a send, and for chords how the header is joined. */
export interface ApplyOptions extends SendTaskOptions {
  /**
   * How a chord's header is joined: 'counter' (our atomic counter, no polling; needs the database
   * backend and header tasks run by workers of this module) or 'chord_unlock' (Celery's polling
   * task, understood by Python workers too). Default: 'counter' when the backend has counters.
   */
  chordJoin?: ChordJoin;
}

/**
 * A task call described but not sent: name, args, kwargs, options (Celery's `Signature`, made
 * with `add.s(2)` / `add.si(2)` / `signature('tasks.add', ...)`). Immutable: `clone`, `set`,
 * `link` return new signatures. Travels as Celery's signature dict (celery-protocol.md §7.1), so
 * Python workers can run the callbacks, chain steps and chord bodies we describe, and the reverse.
 * `THandle` is what applyAsync resolves to: an AsyncResult, or a GroupResult for a group.
 */
export class Signature<TResult = unknown, THandle = AsyncResult<TResult>> {
  private readonly dict: SignatureDict;

  constructor(dict: SignatureDict, readonly app: CeleryClient | null = null) {
    this.dict = { ...dict, args: [...dict.args], kwargs: { ...dict.kwargs }, options: { ...dict.options } };
  }

  /** A signature from Celery's dict, e.g. one read from a message (Celery's `signature(dict)`). */
  static fromDict<TResult = unknown>(dict: SignatureDict, app: CeleryClient | null = null): Signature<TResult> {
    return new Signature<TResult>(dict, app);
  }

  get task(): string {
    return this.dict.task;
  }

  get args(): readonly unknown[] {
    return this.dict.args;
  }

  get kwargs(): Readonly<Record<string, unknown>> {
    return this.dict.kwargs;
  }

  /** Options in Celery's names (`task_id`, `queue`, `link`…), as they travel. */
  get options(): Readonly<Record<string, unknown>> {
    return this.dict.options;
  }

  get subtaskType(): SubtaskType | null {
    return this.dict.subtask_type as SubtaskType | null;
  }

  /** True for `.si()`: the previous step's result is not prepended to args. */
  get immutable(): boolean {
    return this.dict.immutable;
  }

  /** The task id it will have once frozen or sent with a fixed id (Celery's `sig.id`). */
  get id(): string | undefined {
    return this.dict.options.task_id as string | undefined;
  }

  /** Celery's signature dict, key order as Celery writes it. */
  toDict(): SignatureDict {
    const { task, args, kwargs, options, subtask_type, immutable } = this.dict;
    return { task, args: [...args], kwargs: { ...kwargs }, options: { ...options }, subtask_type, immutable };
  }

  /** The same signature sent through `app` (Celery's `sig.app` binding). */
  bind(app: CeleryClient): Signature<TResult, THandle> {
    return new Signature<TResult, THandle>(this.dict, app);
  }

  /**
   * A partial application (Celery's `clone` / calling a partial): `args` go before the
   * signature's own and kwargs are merged over its own (an immutable task keeps both); a chain
   * gives them to its first step, a group to every member, a chord to its header tasks
   * (partial-call.ts). Options are merged over its own.
   */
  clone(args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options: SendTaskOptions = {}): Signature<TResult, THandle> {
    const dict = withPartialCall(this.toDict(), args, kwargs);
    return new Signature<TResult, THandle>({ ...dict, options: { ...dict.options, ...toCeleryOptions(options) } }, this.app);
  }

  /** The same signature with these options (Celery's `sig.set(queue=..., countdown=...)`). */
  set(options: SendTaskOptions): Signature<TResult, THandle> {
    return this.clone([], {}, options);
  }

  /**
   * The same signature with these stamps, and every signature inside it too: chain steps, group
   * members, chord header and body, callbacks (Celery 5.3+'s `sig.stamp(**headers)`). Workers keep
   * them through retries and workflow steps; `control.revokeByStampedHeaders()` revokes by them.
   */
  stamp(stamps: Record<string, unknown>): Signature<TResult, THandle> {
    return new Signature<TResult, THandle>(stampCanvas(this.toDict(), stamps), this.app);
  }

  /** The same signature, immutable: it ignores the previous step's result (Celery's `.si()` / `set(immutable=True)`). */
  asImmutable(): Signature<TResult, THandle> {
    return new Signature<TResult, THandle>({ ...this.toDict(), immutable: true }, this.app);
  }

  /** Adds a callback run with this task's result (Celery's `sig.link(callback)`). */
  link(callback: SignatureLike): Signature<TResult, THandle> {
    return this.appendOption('link', callback);
  }

  /** Adds an errback run with this task's id when it fails (Celery's `sig.link_error(errback)`). */
  linkError(errback: SignatureLike): Signature<TResult, THandle> {
    return this.appendOption('link_error', errback);
  }

  /** Sends it with these args before its own (Celery's `sig.delay(*args)`). */
  delay(...args: unknown[]): Promise<THandle> {
    return this.applyAsync(args);
  }

  /**
   * Sends it (Celery's `sig.apply_async(args, kwargs, **options)`): a task, or a whole chain,
   * group or chord, args and kwargs passed on as clone() does. Resolves once the broker
   * confirmed the messages.
   */
  async applyAsync(args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<THandle> {
    if (!this.app) throw new UnboundSignatureError(this.task);
    const { chordJoin, addToParent, ...sendOptions } = options;
    const publisher = new CanvasPublisher(this.app, { chordJoin });
    const dict = this.clone(args, kwargs, sendOptions).toDict();
    return (await publisher.applyAsync(dict, { addToParent })) as THandle;
  }

  private appendOption(name: 'link' | 'link_error', signature: SignatureLike): Signature<TResult, THandle> {
    const dict = this.toDict();
    const existing = (dict.options[name] as SignatureDict[] | undefined) ?? [];
    dict.options[name] = [...existing, toSignatureDict(signature)];
    return new Signature<TResult, THandle>(dict, this.app);
  }
}

/**
 * A signature of one task (Celery's `signature(name, args, kwargs, options)`, `add.s(2)`), not
 * bound to a client. Through a TaskRef, args are all the task's or all but the first (the
 * previous step's result fills it), kwargs are the declared ones; by name nothing is checked.
 */
export function signature<TArgs extends unknown[], TResult, TKwargs extends object>(task: TaskRef<TArgs, TResult, TKwargs>, ...call: NoInfer<TaskSignatureArguments<TArgs, TKwargs>>): Signature<TResult>;
export function signature<TResult = unknown>(
  task: string,
  args?: readonly unknown[],
  kwargs?: Record<string, unknown>,
  options?: SendTaskOptions,
  app?: CeleryClient | null,
): Signature<TResult>;
export function signature(
  task: string | AnyTaskRef,
  args: readonly unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: SendTaskOptions = {},
  app: CeleryClient | null = null,
): Signature {
  const name = typeof task === 'string' ? task : task.name;
  return new Signature({ task: name, args: [...args], kwargs, options: toCeleryOptions(options), subtask_type: null, immutable: false }, app);
}

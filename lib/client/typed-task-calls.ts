import type { SendTaskOptions } from './send-task-options';

/**
 * Options of a call through a TaskRef (Celery's `apply_async` options): those of SendTaskOptions,
 * with `kwargs` checked against the keyword arguments the TaskRef declares, and required when one
 * of them is (Python raises TypeError for a missing one; here it does not compile).
 */
export type TaskSendOptions<TKwargs extends object> = Omit<SendTaskOptions, 'kwargs'> & ({} extends TKwargs ? { kwargs?: TKwargs } : { kwargs: TKwargs });

/**
 * What follows the TaskRef in `CeleryClient.send` and `CeleryOutbox.enqueue` (Celery's
 * `apply_async(args, kwargs, **options)`): the positional args exactly as a direct call of the
 * declared function takes them, then the options. Either may be left out when nothing in it is
 * required, as `ping.delay()` in Celery.
 */
export type TaskSendArguments<TArgs extends unknown[], TKwargs extends object> = {} extends TKwargs
  ? [] extends TArgs
    ? [args?: TArgs, options?: TaskSendOptions<TKwargs>]
    : [args: TArgs, options?: TaskSendOptions<TKwargs>]
  : [args: TArgs, options: TaskSendOptions<TKwargs>];

/**
 * The args a signature of a task may hold (Celery's `add.s(2, 2)` and the partial `add.s(2)`):
 * all of them, or all but the first, which the previous step's result fills when the signature
 * runs as a chain step, a chord body or a link callback. Only the first parameter is left for a
 * caller to fill, because that is the only one Celery's canvas fills.
 */
export type SignatureArgs<TArgs extends unknown[]> = TArgs | ArgsAfterFirst<TArgs>;

/** `[x, y]` → `[y]`; a task without parameters has nothing a previous result could fill. */
type ArgsAfterFirst<TArgs extends unknown[]> = TArgs extends [] ? never : TArgs extends [unknown?, ...infer Rest] ? Rest : never;

/**
 * What follows the TaskRef in `CeleryClient.signature` and `signature()` (Celery's
 * `signature(name, args, kwargs, options)`): args as SignatureArgs, the declared kwargs, then
 * options (without `kwargs`: they have their own, checked, place). Args and kwargs may be left out
 * when nothing in them is required, as `xsum.s()` in Celery.
 */
export type TaskSignatureArguments<TArgs extends unknown[], TKwargs extends object> = {} extends TKwargs
  ? [] extends SignatureArgs<TArgs>
    ? [args?: SignatureArgs<TArgs>, kwargs?: TKwargs, options?: Omit<SendTaskOptions, 'kwargs'>]
    : [args: SignatureArgs<TArgs>, kwargs?: TKwargs, options?: Omit<SendTaskOptions, 'kwargs'>]
  : [args: SignatureArgs<TArgs>, kwargs: TKwargs, options?: Omit<SendTaskOptions, 'kwargs'>];

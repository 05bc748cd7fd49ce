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

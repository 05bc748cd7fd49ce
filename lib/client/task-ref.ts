/**
 * The keyword arguments of a task declared without any: a call through its TaskRef may pass
 * `kwargs: {}` at most (Celery has no such declaration; a Python task takes any keyword its
 * function names). Calls by task name are not checked at all.
 */
export type NoKwargs = Record<string, never>;

/**
 * A typed handle on a task name, so a call's positional args, keyword args and result are checked
 * at compile time even when the task runs in another process or language (Celery's task object,
 * `add.delay(2, 2)` / `add.apply_async((2, 2), {'scale': 3})`, whose checks Python makes only at
 * run time). The TaskRef alone decides the types: `CeleryClient.send`, `CeleryClient.signature`,
 * `signature()` and `CeleryOutbox.enqueue` never widen them from what a call passes.
 */
export interface TaskRef<TArgs extends unknown[], TResult, TKwargs extends object = NoKwargs> {
  readonly name: string;
  /**
   * Phantom fields that carry the types; never set at run time. Args and kwargs sit in parameter
   * position so a TaskRef only widens the way a function does: `add` is not a
   * `TaskRef<unknown[], number>`, through which any args would be sent.
   */
  readonly __args?: (...args: TArgs) => void;
  readonly __result?: TResult;
  readonly __kwargs?: (kwargs: TKwargs) => void;
}

/** Any TaskRef, whatever its types: what the untyped internals (prepare, the outbox row) take. */
export type AnyTaskRef = TaskRef<never, unknown, never>;

/**
 * Declares a task by name with the types of the function behind it (Celery's
 * `app.signature('tasks.add')` / `app.tasks['tasks.add']`, typed): its parameters are the
 * positional args, optional and rest parameters included; its result, awaited, is what the
 * AsyncResult resolves to; `TKwargs`, when given, types the keyword arguments:
 *
 * ```ts
 * const add = defineTask<(x: number, y: number) => number>('tasks.add');
 * const result = await celery.send(add, [2, 2]); // AsyncResult<number>
 * const scaled = defineTask<(x: number, y: number) => number, { scale?: number }>('tasks.add');
 * await celery.send(scaled, [2, 2], { kwargs: { scale: 10 } });
 * const byName = defineTask<() => number, { x: number; y: number }>('tasks.add'); // add.delay(x=2, y=2)
 * await celery.send(byName, [], { kwargs: { x: 2, y: 2 } });
 * ```
 * With the task class at hand: `defineTask<MathTasks['add']>('tasks.add')` (async methods give
 * the awaited type). Kwargs are declared rather than read from the function because a type has
 * no parameter names to bind them to; without `TKwargs` no kwargs may be passed.
 */
export function defineTask<TFunction extends (...args: any[]) => unknown, TKwargs extends object = NoKwargs>(
  name: string,
): TaskRef<Parameters<TFunction>, Awaited<ReturnType<TFunction>>, TKwargs> {
  return { name };
}

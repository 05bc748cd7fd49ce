/**
 * A typed handle on a task name, so a call's arguments and result are checked at compile time
 * even when the task runs in another process or language:
 *
 * ```ts
 * const add = defineTask<(x: number, y: number) => number>('tasks.add');
 * const result = await celery.send(add, [2, 2]); // AsyncResult<number>
 * ```
 * With the task class at hand: `defineTask<MathTasks['add']>('tasks.add')`.
 */
export interface TaskRef<TArgs extends unknown[], TResult> {
  readonly name: string;
  /** Phantom fields that carry the types; never set at run time. */
  readonly __args?: TArgs;
  readonly __result?: TResult;
}

export function defineTask<TFunction extends (...args: any[]) => unknown>(
  name: string,
): TaskRef<Parameters<TFunction>, Awaited<ReturnType<TFunction>>> {
  return { name };
}

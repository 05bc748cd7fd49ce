import type { CeleryClient } from '../client/celery-client';
import { CanvasPublisher } from '../client/canvas/canvas-publisher';
import { CHUNKS_TASK, chunksDict, MAP_TASK, STARMAP_TASK } from '../client/canvas/composite-dicts';
import { asResultTuple } from '../client/canvas/result-tuple';
import { NotRegisteredError } from '../errors/not-registered.error';
import { TaskArgumentsError } from '../errors/task-arguments.error';
import { SignatureDict } from '../protocol/signature-dict';
import { addToParentTrail, currentTask } from '../task/task-context';
import type { TaskDefinition } from '../task/task-definition';
import type { TaskRegistry } from '../task/task-registry';

/**
 * Celery's built-in `celery.map` (celery/app/builtins.py `xmap`): calls the task once per item,
 * one after the other in this process, as `task(item)` — the signature's own args are not used,
 * as in Celery — and returns the list of results. The task must be registered here
 * (NotRegistered otherwise, as Celery's `signature(task).type` raises).
 */
export function mapTask(registry: TaskRegistry): TaskDefinition {
  return builtin(MAP_TASK, ['task', 'it'], (args, kwargs) => {
    const [task, it] = mapArguments(MAP_TASK, args, kwargs);
    return () => callEach(registry, task.task, it.map((item) => [item]));
  });
}

/** Celery's built-in `celery.starmap` (`xstarmap`): as `celery.map`, each item being the task's argument list (`task(*item)`). */
export function starmapTask(registry: TaskRegistry): TaskDefinition {
  return builtin(STARMAP_TASK, ['task', 'it'], (args, kwargs) => {
    const [task, it] = mapArguments(STARMAP_TASK, args, kwargs);
    const bad = it.findIndex((item) => !Array.isArray(item));
    if (bad >= 0) throw new TaskArgumentsError(STARMAP_TASK, `item ${bad} of it is not a list of positional arguments (starmap calls task(*item))`);
    return () => callEach(registry, task.task, it as unknown[][]);
  });
}

/**
 * Celery's built-in `celery.chunks` (`chunks.apply_chunks`): sends the chunks as their group of
 * `celery.starmap` tasks and returns that group's result tuple (what Celery stores for a task
 * that returns a GroupResult under JSON).
 */
export function chunksTask(client: CeleryClient): TaskDefinition {
  const publisher = new CanvasPublisher(client);
  return builtin(CHUNKS_TASK, ['task', 'it', 'n'], (args, kwargs) => {
    const [task, it] = mapArguments(CHUNKS_TASK, args, kwargs);
    const n = args[2] ?? kwargs.n;
    if (!Number.isInteger(n) || (n as number) < 1) throw new TaskArgumentsError(CHUNKS_TASK, `n must be a whole number of items per chunk, 1 or more, got ${JSON.stringify(n)}`);
    return async () => {
      const context = currentTask();
      const frozen = publisher.freeze(chunksDict(task, it, n as number));
      const tuple = asResultTuple(await publisher.apply(frozen, [], { parentId: context.id, rootId: context.rootId ?? context.id }));
      addToParentTrail(tuple); // Celery's group apply_async lists the group in the task's children
      return tuple;
    };
  });
}

/**
 * Celery's built-in `celery.accumulate`, the body `replace()` gives a group so that the replaced
 * task's callbacks can follow it: returns its args, or the one at `index`.
 */
export function accumulateTask(): TaskDefinition {
  return builtin('celery.accumulate', [], (args, kwargs) => {
    const index = kwargs.index;
    return () => (typeof index === 'number' ? args[index] : args);
  });
}

function builtin(name: string, parameters: string[], prepare: TaskDefinition['prepare']): TaskDefinition {
  return { name, options: {}, source: `nestjs-celery built-in ${name}(${parameters.join(', ')})`, prepare };
}

/** `(task, it)` by position or by name, as Python binds them; refused with what Celery sends otherwise. */
function mapArguments(name: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): [SignatureDict, unknown[]] {
  const task = (args[0] ?? kwargs.task) as SignatureDict | undefined;
  const it = args[1] ?? kwargs.it;
  if (typeof task?.task !== 'string' || !Array.isArray(it)) {
    throw new TaskArgumentsError(
      name,
      `expected kwargs {task: <signature dict>, it: [items]}, as Celery's xmap / xstarmap / chunks send them; ` +
        `got task ${JSON.stringify(task)?.slice(0, 100)} and it ${JSON.stringify(it)?.slice(0, 100)}. Send it with xmap(), xstarmap() or chunks(), or Python's add.map() / add.starmap() / add.chunks().`,
    );
  }
  return [task, it];
}

/** Calls the task with each argument list in turn, in this process (Celery calls `task(*args)` directly). */
async function callEach(registry: TaskRegistry, taskName: string, argumentLists: unknown[][]): Promise<unknown[]> {
  const task = registry.get(taskName);
  if (!task) throw new NotRegisteredError(taskName);
  const results: unknown[] = [];
  for (const args of argumentLists) results.push(await task.prepare(args, {})());
  return results;
}

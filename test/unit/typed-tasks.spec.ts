import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { chain } from '../../lib/client/canvas/canvas';
import { Signature, signature } from '../../lib/client/canvas/signature';
import type { AsyncResult } from '../../lib/client/async-result';
import type { CeleryClient } from '../../lib/client/celery-client';
import { defineTask, TaskRef } from '../../lib/client/task-ref';
import type { CeleryOutbox } from '../../lib/outbox/celery-outbox';
import type { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { createCeleryRuntime } from '../../lib/runtime/create-celery-runtime';
import type { TaskDefinition } from '../../lib/task/task-definition';

/**
 * Typed tasks (issue #14, item 6): a TaskRef decides a call's args, kwargs and result type. The
 * calls below marked @ts-expect-error must not compile; `npm test` starts with `tsc --noEmit`, so
 * the day one of them compiles (the error is gone), the build fails. The jest part sends the calls
 * that do compile through an in-memory runtime and checks they reach the task as typed.
 */

/** A Nest provider as an app declares its tasks (no decorators needed for the types). */
class ReportTasks {
  add(x: number, y: number): number {
    return x + y;
  }
  async render(reportId: string, format: 'pdf' | 'csv' = 'pdf'): Promise<{ url: string }> {
    return { url: `/reports/${reportId}.${format}` };
  }
  xsum(numbers: number[]): number {
    return numbers.reduce((total, value) => total + value, 0);
  }
  join(separator: string, ...parts: string[]): string {
    return parts.join(separator);
  }
}

const add = defineTask<(x: number, y: number) => number>('typed.add');
const addFromProvider = defineTask<ReportTasks['add']>('typed.add');
const render = defineTask<ReportTasks['render']>('typed.render');
const xsum = defineTask<ReportTasks['xsum']>('typed.xsum');
const join = defineTask<ReportTasks['join']>('typed.join');
/** Python's `def scaled_add(x, y, scale=1)`, called `scaled_add.delay(2, 2, scale=10)`. */
const scaledAdd = defineTask<(x: number, y: number) => number, { scale?: number }>('typed.scaled_add');
/** Python's `add.delay(x=2, y=2)`: keyword arguments only. */
const addByKeyword = defineTask<() => number, { x: number; y: number }>('typed.add_by_keyword');
/** Kwargs declared with an interface, as a Nest DTO would be. */
interface RenderKwargs {
  watermark?: string;
}
const renderWatermarked = defineTask<ReportTasks['render'], RenderKwargs>('typed.render_watermarked');
const ping = defineTask<() => 'pong'>('typed.ping');

/** Never run: the compiler checks it. Each @ts-expect-error line is a call that must not compile. */
async function callsCheckedAtCompileTime(celery: CeleryClient, outbox: CeleryOutbox, manager: EntityManager): Promise<void> {
  // Args: types and arity are the declared function's.
  // @ts-expect-error: y is a number, not a string
  await celery.send(add, [2, '2']);
  // @ts-expect-error: y is missing
  await celery.send(add, [2]);
  // @ts-expect-error: add takes two args, not three
  await celery.send(add, [2, 2, 3]);
  // @ts-expect-error: x is a number
  await celery.send(add, ['2', 2]);
  // @ts-expect-error: args are required when the task has required parameters
  await celery.send(add);
  // @ts-expect-error: the call site cannot widen the args through explicit type arguments
  await celery.send<[number, string], number, Record<string, never>>(add, [2, '2']);
  // @ts-expect-error: nor by widening the TaskRef itself
  const widened: TaskRef<unknown[], number> = add;
  void widened;
  // @ts-expect-error: format is 'pdf' | 'csv'
  await celery.send(render, ['r-1', 'xml']);
  // @ts-expect-error: rest parameters keep their element type
  await celery.send(join, [', ', 'a', 3]);
  // @ts-expect-error: xsum takes one list, not spread numbers
  await celery.send(xsum, [1, 2, 3]);

  // Kwargs: only the declared ones, and the required ones must be there.
  // @ts-expect-error: add declares no kwargs
  await celery.send(add, [2, 2], { kwargs: { scale: 10 } });
  // @ts-expect-error: scale is a number
  await celery.send(scaledAdd, [2, 2], { kwargs: { scale: '10' } });
  // @ts-expect-error: factor is not a declared kwarg
  await celery.send(scaledAdd, [2, 2], { kwargs: { factor: 10 } });
  // @ts-expect-error: y is a required kwarg
  await celery.send(addByKeyword, [], { kwargs: { x: 2 } });
  // @ts-expect-error: the options carry the required kwargs, so they are required
  await celery.send(addByKeyword, []);
  // @ts-expect-error: addByKeyword takes keyword arguments only
  await celery.send(addByKeyword, [2, 2], { kwargs: { x: 2, y: 2 } });
  // @ts-expect-error: watermark is a string
  await celery.send(renderWatermarked, ['r-1'], { kwargs: { watermark: true } });
  // @ts-expect-error: options are still checked (queue, not queu)
  await celery.send(add, [2, 2], { queu: 'reports' });

  // Results: the declared function's, awaited.
  // @ts-expect-error: add gives an AsyncResult<number>
  const wrongResult: AsyncResult<string> = await celery.send(add, [2, 2]);
  void wrongResult;
  // @ts-expect-error: the value is a number
  const text: string = await (await celery.send(addFromProvider, [2, 2])).get();
  void text;
  // @ts-expect-error: render's url is a string (the async method's awaited result)
  const url: number = (await (await celery.send(render, ['r-1'])).get()).url;
  void url;
  // @ts-expect-error: an async task's AsyncResult holds the awaited value, not a promise
  const promised: AsyncResult<Promise<{ url: string }>> = await celery.send(render, ['r-1']);
  void promised;

  // The outbox checks exactly what send checks.
  // @ts-expect-error: y is a number
  await outbox.enqueue(manager, add, [2, '2']);
  // @ts-expect-error: y is missing
  await outbox.enqueue(manager, add, [2]);
  // @ts-expect-error: add takes two args
  await outbox.enqueue(manager, add, [2, 2, 3]);
  // @ts-expect-error: y is a required kwarg
  await outbox.enqueue(manager, addByKeyword, [], { kwargs: { x: 2 } });
  // @ts-expect-error: the result is a number
  const queued: AsyncResult<string> = await outbox.enqueue(manager, add, [2, 2]);
  void queued;

  // Signatures: all args, or all but the first (the previous step's result fills it).
  // @ts-expect-error: y is a number
  celery.signature(add, [2, '2']);
  // @ts-expect-error: add takes two args
  celery.signature(add, [2, 2, 3]);
  // @ts-expect-error: the one arg a partial holds is y, a number
  celery.signature(add, ['2']);
  // @ts-expect-error: a partial leaves only the first parameter to the previous step
  celery.signature(add, []);
  // @ts-expect-error: a task without parameters has nothing a previous result could fill
  celery.signature(ping, [1]);
  // @ts-expect-error: scale is a number
  celery.signature(scaledAdd, [2], { scale: '10' });
  // @ts-expect-error: kwargs go in their own argument, where they are checked
  celery.signature(scaledAdd, [2], {}, { kwargs: { factor: 10 } });
  // @ts-expect-error: x and y are required kwargs
  celery.signature(addByKeyword, []);
  // @ts-expect-error: the result is a number
  const wrongSignature: Signature<string> = celery.signature(add, [2]);
  void wrongSignature;
  // @ts-expect-error: the free signature() checks the same
  signature(add, [2, '2']);
  // @ts-expect-error: and refuses undeclared kwargs
  signature(add, [2, 2], { scale: 10 });

  // What must compile, next to what must not.
  const sum: AsyncResult<number> = await celery.send(add, [2, 2]);
  const scaled: AsyncResult<number> = await celery.send(scaledAdd, [2, 2], { kwargs: { scale: 10 }, queue: 'math' });
  await celery.send(scaledAdd, [2, 2]);
  await celery.send(addByKeyword, [], { kwargs: { x: 2, y: 2 }, countdown: 5 });
  await celery.send(render, ['r-1']);
  await celery.send(render, ['r-1', 'csv']);
  await celery.send(renderWatermarked, ['r-1'], { kwargs: { watermark: 'draft' } });
  await celery.send(join, [', ']);
  await celery.send(join, [', ', 'a', 'b', 'c']);
  await celery.send(ping);
  await celery.send(add, [2, 2], { kwargs: {} });
  const pong: 'pong' = await (await celery.send(ping, [])).get();
  const report: AsyncResult<{ url: string }> = await celery.send(render, ['r-1']);
  await outbox.enqueue(manager, scaledAdd, [2, 2], { kwargs: { scale: 10 } });
  const step: Signature<number> = celery.signature(add, [2]);
  celery.signature(xsum);
  celery.signature(addByKeyword, [], { x: 2, y: 2 }, { queue: 'math' });
  signature(scaledAdd, [2], { scale: 10 });
  // By name nothing is checked: the untyped path stays as loose as before.
  await celery.send('tasks.add', [2, '2'], { kwargs: { anything: true } });
  await outbox.enqueue(manager, 'tasks.add', [2, '2'], { kwargs: { anything: true } });
  celery.signature('tasks.add', [2, '2'], { anything: true });
  void [sum, scaled, pong, report, step];
}

/** The task each TaskRef above names, as a worker of this module would run it: args by position, kwargs by name. */
function taskDefinition(name: string, run: (args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>) => unknown): TaskDefinition {
  return { name, options: {}, source: `typed-tasks.spec ${name}`, prepare: (args, kwargs) => () => run(args, kwargs) };
}

const reportTasks = new ReportTasks();
const TASKS = [
  taskDefinition('typed.add', ([x, y]) => reportTasks.add(x as number, y as number)),
  taskDefinition('typed.scaled_add', ([x, y], { scale = 1 }) => reportTasks.add(x as number, y as number) * (scale as number)),
  taskDefinition('typed.add_by_keyword', (_args, { x, y }) => reportTasks.add(x as number, y as number)),
  taskDefinition('typed.render', ([reportId, format]) => reportTasks.render(reportId as string, format as 'pdf' | 'csv' | undefined)),
  taskDefinition('typed.xsum', ([numbers]) => reportTasks.xsum(numbers as number[])),
  taskDefinition('typed.join', ([separator, ...parts]) => reportTasks.join(separator as string, ...(parts as string[]))),
  taskDefinition('typed.ping', () => 'pong'),
];

describe('typed tasks: what compiles reaches the task as declared', () => {
  let runtime: CeleryRuntime;
  let celery: CeleryClient;
  const timeout = { timeout: 5_000 };

  beforeAll(async () => {
    const id = randomUUID();
    runtime = await createCeleryRuntime(
      { broker: `memory://typed-tasks-${id}`, backend: `memory://typed-tasks-results-${id}`, worker: { concurrency: 2, hostname: `typed-tasks-${id}@%h`, exitOnRemoteShutdown: false } },
      { logger: { log: () => undefined, warn: () => undefined, error: () => undefined }, tasks: TASKS },
    );
    await runtime.start();
    celery = runtime.parts.client;
  });

  afterAll(async () => {
    await runtime.close();
  });

  it('the wrong calls are kept for the compiler only', () => {
    expect(callsCheckedAtCompileTime).toBeInstanceOf(Function);
  });

  it('sends positional args, with optional and rest parameters, and gives the typed result', async () => {
    const sum: number = await (await celery.send(add, [2, 2])).get(timeout);
    const report: { url: string } = await (await celery.send(render, ['r-1'])).get(timeout);
    const csv = await (await celery.send(render, ['r-1', 'csv'])).get(timeout);
    const joined: string = await (await celery.send(join, ['-', 'a', 'b'])).get(timeout);
    const pong: 'pong' = await (await celery.send(ping)).get(timeout);
    expect([sum, report, csv, joined, pong]).toEqual([4, { url: '/reports/r-1.pdf' }, { url: '/reports/r-1.csv' }, 'a-b', 'pong']);
  });

  it('sends the declared kwargs, alone or after positional args', async () => {
    expect(await (await celery.send(scaledAdd, [2, 2], { kwargs: { scale: 10 } })).get(timeout)).toBe(40);
    expect(await (await celery.send(scaledAdd, [2, 2])).get(timeout)).toBe(4);
    expect(await (await celery.send(addByKeyword, [], { kwargs: { x: 2, y: 3 } })).get(timeout)).toBe(5);
  });

  it('makes signatures from a TaskRef, complete or partial, that run as chain steps', async () => {
    const bound = celery.signature(scaledAdd, [2, 2], { scale: 10 });
    expect(bound.toDict()).toMatchObject({ task: 'typed.scaled_add', args: [2, 2], kwargs: { scale: 10 } });
    const last = await chain<number>(celery.signature(add, [1, 2]), celery.signature(add, [3]), signature(scaledAdd, [4], { scale: 10 })).applyAsync();
    expect(await last.get(timeout)).toBe(100);
  });
});

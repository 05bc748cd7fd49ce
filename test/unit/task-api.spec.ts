import { randomUUID } from 'node:crypto';
import { chain, chord, chunks, group, xmap, xstarmap } from '../../lib/client/canvas/canvas';
import { GroupResult } from '../../lib/client/canvas/group-result';
import type { AsyncResult } from '../../lib/client/async-result';
import { signature } from '../../lib/client/canvas/signature';
import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { InvalidSendOptionsError } from '../../lib/errors/invalid-send-options.error';
import type { TaskResultMeta } from '../../lib/protocol/result-meta';
import { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { createCeleryRuntime } from '../../lib/runtime/create-celery-runtime';
import type { TaskDefinition } from '../../lib/task/task-definition';
import { currentTask, TaskContext } from '../../lib/task/task-context';
import type { TaskMessage } from '../../lib/protocol/task-message';
import { eventually } from '../support/celery-app';

/**
 * The rest of Celery's task API on the in-memory broker and result backend, built by the real
 * composition root: the built-ins map / starmap / chunks, kwargs given to a composite's
 * applyAsync.
 */

/** A task whose code is `run`, refusing a number of arguments other than `arity` (Python's TypeError). */
function task(name: string, run: (...args: any[]) => unknown, arity?: number): TaskDefinition {
  return {
    name,
    options: {},
    source: `test ${name}`,
    prepare(args, kwargs) {
      if (arity !== undefined && args.length + Object.keys(kwargs).length !== arity) {
        throw new TaskArgumentsError(name, `takes ${arity} positional arguments but ${args.length} were given`);
      }
      return () => run(...args, ...(Object.keys(kwargs).length ? [kwargs] : []));
    },
  };
}

const runtimes: CeleryRuntime[] = [];
/** Messages the worker received, by task name: what was sent, as the worker read it. */
let received: TaskMessage[] = [];

async function startWorker(tasks: TaskDefinition[]): Promise<CeleryRuntime> {
  const id = randomUUID();
  const runtime = await createCeleryRuntime(
    {
      broker: `memory://task-api-${id}`,
      backend: `memory://task-api-${id}`,
      defaultQueue: 'work',
      worker: { concurrency: 4, hostname: `task-api-${id}@%h`, exitOnRemoteShutdown: false },
    },
    { logger: { log: () => undefined, warn: () => undefined, error: () => undefined }, tasks },
  );
  received = [];
  runtime.parts.worker!.addMonitor({ taskReceived: (message: TaskMessage) => void received.push(message) });
  await runtime.start();
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

function stored(runtime: CeleryRuntime, id: string): Promise<TaskResultMeta> {
  return eventually(async () => {
    const meta = await runtime.parts.backend.getResult(id);
    return meta && ['SUCCESS', 'FAILURE'].includes(meta.status) ? meta : undefined;
  }, 5_000, `the result of ${id}`);
}

const add = task('t.add', (x: number, y: number) => x + y, 2);
const double = task('t.double', (x: number) => x * 2, 1);

describe('map, starmap and chunks (Celery built-ins celery.map, celery.starmap, celery.chunks)', () => {
  it('xmap sends celery.map with kwargs {task, it}, run in one task: the list of task(item)', async () => {
    const runtime = await startWorker([double]);
    const result = await xmap<number>(runtime.parts.client.signature('t.double'), [1, 2, 3]).applyAsync();
    expect(await result.get({ timeout: 5_000 })).toEqual([2, 4, 6]);
    expect(received.map((message) => [message.task, message.args, message.kwargs])).toEqual([
      ['celery.map', [], { task: { task: 't.double', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }, it: [1, 2, 3] }],
    ]);
  });

  it('xstarmap calls task(*item) for each item', async () => {
    const runtime = await startWorker([add]);
    const result = await xstarmap<number>(runtime.parts.client.signature('t.add'), [[1, 1], [2, 3]]).applyAsync();
    expect(await result.get({ timeout: 5_000 })).toEqual([2, 5]);
    expect(received.map((message) => message.task)).toEqual(['celery.starmap']);
  });

  it('chunks are sent as Celery sends them: a group of one celery.starmap per run of n items', async () => {
    const runtime = await startWorker([add]);
    const pairs = Array.from({ length: 5 }, (_, i) => [i, i]);
    const result = await chunks<number>(runtime.parts.client.signature('t.add'), pairs, 2).applyAsync();
    expect(result).toBeInstanceOf(GroupResult);
    expect(await result.get({ timeout: 5_000 })).toEqual([[0, 2], [4, 6], [8]]);
    expect(received.map((message) => [message.task, message.group, (message.kwargs as { it: unknown[] }).it])).toEqual([
      ['celery.starmap', result.id, [[0, 0], [1, 1]]],
      ['celery.starmap', result.id, [[2, 2], [3, 3]]],
      ['celery.starmap', result.id, [[4, 4]]],
    ]);
  });

  it('a celery.chunks message sends the group of starmaps and stores its result tuple', async () => {
    const runtime = await startWorker([add]);
    const taskSignature = signature('t.add').toDict();
    const sent = await runtime.parts.client.send('celery.chunks', [], { kwargs: { task: taskSignature, it: [[1, 2], [3, 4], [5, 6]], n: 2 } });
    const tuple = (await sent.get({ timeout: 5_000 })) as [[string, null], [[string, null], null][]];
    const members = tuple[1].map(([[id]]) => runtime.parts.client.asyncResult(id));
    expect(await Promise.all(members.map((member) => member.get({ timeout: 5_000 })))).toEqual([[3, 7], [11]]);
    expect(received.filter((message) => message.task === 'celery.starmap').every((message) => message.parentId === sent.id)).toBe(true);
  });

  it('a task not registered here fails the map with NotRegistered; arguments that do not fit fail it with TypeError', async () => {
    const runtime = await startWorker([add]);
    const missing = await xmap(signature('t.elsewhere'), [1]).bind(runtime.parts.client).applyAsync();
    expect((await stored(runtime, missing.id)).result).toMatchObject({ exc_type: 'NotRegistered', exc_message: ['t.elsewhere'] });
    const misfit = await xmap(signature('t.add'), [1]).bind(runtime.parts.client).applyAsync();
    expect((await stored(runtime, misfit.id)).result).toMatchObject({ exc_type: 'TypeError' });
  });

  it('refuses what cannot be sent, saying what was expected', () => {
    expect(() => chunks(signature('t.add'), [[1, 1]], 0)).toThrow(InvalidSendOptionsError);
    expect(() => chunks(signature('t.add'), [[1, 1]], 0)).toThrow(/n must be a whole number of items per chunk/);
    expect(() => xstarmap(signature('t.add'), [1 as never])).toThrow(/every item must be an array of the task's positional arguments; item 0/);
    expect(() => xmap(signature('t.add'), 42 as never)).toThrow(/it must be an array or another iterable/);
  });
});

describe("kwargs given to a composite's applyAsync, passed on as Celery's canvas does", () => {
  const echo = task('t.echo', (...args: unknown[]) => args);

  it("a chain gives args and kwargs to its first step only", async () => {
    const runtime = await startWorker([echo]);
    const sig = (...args: unknown[]) => runtime.parts.client.signature('t.echo', args);
    const last = await chain(sig(1), sig(2)).applyAsync([0], { k: 'v' });
    expect(await last.get({ timeout: 5_000 })).toEqual([[0, 1, { k: 'v' }], 2]);
  });

  it('a group gives them to every member (an immutable one keeps its own)', async () => {
    const runtime = await startWorker([echo]);
    const client = runtime.parts.client;
    const result = await group([client.signature('t.echo', [1]), client.signature('t.echo', [2], { own: 1 }), client.signature('t.echo', [3]).asImmutable()]).applyAsync([0], { k: 'v' });
    expect(await result.get({ timeout: 5_000 })).toEqual([[0, 1, { k: 'v' }], [0, 2, { own: 1, k: 'v' }], [3]]);
  });

  it('a chord gives them to its header tasks (Celery 5.6), not to its body', async () => {
    const runtime = await startWorker([echo]);
    const client = runtime.parts.client;
    const result = await chord([client.signature('t.echo', [1]), client.signature('t.echo', [2])], client.signature('t.echo', [])).applyAsync([0], { k: 'v' });
    expect(await result.get({ timeout: 5_000 })).toEqual([[[0, 1, { k: 'v' }], [0, 2, { k: 'v' }]]]);
  });
});

describe("replace() as Celery's Task.replace", () => {
  const echo = task('t.echo', (...args: unknown[]) => args);
  const xsum = task('t.xsum', (numbers: number[]) => numbers.reduce((total, value) => total + value, 0), 1);
  const fail = task('t.fail', () => {
    throw new RangeError('replacement failed');
  });
  /** Replaces itself with what `by(...args)` gives. */
  const replacer = (by: (...args: any[]) => Parameters<TaskContext['replace']>[0]) => task('t.replacer', (...args: unknown[]) => currentTask().replace(by(...args)));

  it("sends the replacement under the task's id: get() on it gives the replacement's result; nothing is stored for the task itself", async () => {
    const signals: string[] = [];
    const runtime = await startWorker([add, replacer((x: number) => signature('t.add', [x, 100]))]);
    runtime.parts.signals.on('postrun', (signal) => void signals.push(`${signal.task.name} ${signal.state}`));
    const result = await runtime.parts.client.send('t.replacer', [1]);
    expect(await result.get({ timeout: 5_000 })).toBe(101);
    const replacement = received.find((message) => message.task === 't.add')!;
    expect(replacement).toMatchObject({ id: result.id, parentId: result.id, rootId: result.id, customHeaders: { replaced_task_nesting: 1 } });
    await eventually(() => (signals.length === 2 ? true : undefined));
    expect(signals).toEqual(['t.replacer IGNORED', 't.add SUCCESS']);
  });

  it('stores no state of its own: until the replacement runs, the id is PENDING', async () => {
    const runtime = await startWorker([replacer(() => signature('t.add', [1, 1], {}, { queue: 'nobody-consumes-this' }))]);
    const ignored: string[] = [];
    runtime.parts.signals.on('postrun', (signal) => void ignored.push(signal.state!));
    const result = await runtime.parts.client.send('t.replacer');
    await eventually(() => (ignored.length === 1 ? true : undefined));
    expect(ignored).toEqual(['IGNORED']);
    expect(await result.state()).toBe('PENDING');
    expect(await runtime.parts.broker.queueDepth('nobody-consumes-this')).toBe(1);
  });

  it('counts nesting: a replacement that replaces itself again carries replaced_task_nesting 2', async () => {
    const runtime = await startWorker([
      add,
      task('t.outer', () => currentTask().replace(signature('t.inner'))),
      task('t.inner', () => currentTask().replace(signature('t.add', [2, 3]))),
    ]);
    const result = await runtime.parts.client.send('t.outer');
    expect(await result.get({ timeout: 5_000 })).toBe(5);
    expect(received.map((message) => [message.task, message.id === result.id, message.customHeaders.replaced_task_nesting])).toEqual([
      ['t.outer', true, undefined],
      ['t.inner', true, 1],
      ['t.add', true, 2],
    ]);
  });

  it("moves the task's callbacks and remaining chain steps to the replacement (a chain), their ids kept", async () => {
    const runtime = await startWorker([add, echo, replacer((x: number) => chain(signature('t.add', [x, 1]), signature('t.add', [10])))]);
    const client = runtime.parts.client;
    const last = await chain(client.signature('t.replacer', [1]).link(signature('t.echo', ['linked'])), signature('t.add', [1000])).applyAsync();
    expect(await last.get({ timeout: 5_000 })).toBe(1012);
    expect(await last.parent!.get({ timeout: 5_000 })).toBe(12); // the replaced step's id holds the replacement chain's result
    await eventually(() => (received.some((message) => message.task === 't.echo') ? true : undefined));
    expect(received.find((message) => message.task === 't.echo')!.args).toEqual([12, 'linked']);
  });

  it("a group replacement becomes a chord with celery.accumulate: the task's result is the group's list", async () => {
    const runtime = await startWorker([add, replacer(() => group([signature('t.add', [1, 1]), signature('t.add', [2, 2])]))]);
    const result = await runtime.parts.client.send('t.replacer');
    expect(await result.get({ timeout: 5_000 })).toEqual([2, 4]);
    expect(received.find((message) => message.task === 'celery.accumulate')?.id).toBe(result.id);
  });

  it("keeps the task's place in a chord header: the body gets the replacement's result", async () => {
    const runtime = await startWorker([add, xsum, replacer((x: number) => signature('t.add', [x, 40]))]);
    const client = runtime.parts.client;
    const result = await chord([client.signature('t.replacer', [2]), client.signature('t.add', [1, 1])], client.signature('t.xsum')).applyAsync();
    expect(await result.get({ timeout: 5_000 })).toBe(44);
  });

  it("moves the task's errbacks: a failing replacement sends them with the task's id", async () => {
    const runtime = await startWorker([fail, echo, replacer(() => signature('t.fail'))]);
    const client = runtime.parts.client;
    const result = await client.send('t.replacer', [], { linkError: signature('t.echo', ['errback']) });
    expect((await stored(runtime, result.id)).result).toMatchObject({ exc_type: 'ValueError', exc_message: ['replacement failed'] });
    await eventually(() => (received.some((message) => message.task === 't.echo') ? true : undefined));
    expect(received.find((message) => message.task === 't.echo')!.args).toEqual([result.id, 'errback']);
  });

  it('a replacement that is part of a chord of its own fails the task with ImproperlyConfigured, as Celery raises', async () => {
    const runtime = await startWorker([add, replacer(() => signature('t.add', [1, 1], {}, { chord: signature('t.add').toDict() }))]);
    const result = await runtime.parts.client.send('t.replacer');
    expect((await stored(runtime, result.id)).result).toMatchObject({ exc_type: 'ImproperlyConfigured', exc_module: 'celery.exceptions' });
  });
});

describe("the result graph: AsyncResult.parent, children() and collect()", () => {
  it("children are what the task sent while it ran (a task, a group, a chain by its first task), then its callbacks and chain's next step", async () => {
    let client: CeleryRuntime['parts']['client'] | null = null;
    const runtime = await startWorker([
      add,
      task('t.fanout', async () => {
        await client!.send('t.add', [1, 1]);
        await group([signature('t.add', [2, 2]), signature('t.add', [3, 3])]).bind(client!).applyAsync();
        await chain(signature('t.add', [4, 4]), signature('t.add', [1])).bind(client!).applyAsync();
        await client!.send('t.add', [5, 5], { addToParent: false });
        return 'fanned out';
      }),
    ]);
    client = runtime.parts.client;
    const last = await chain(client.signature('t.fanout').link(signature('t.add', [0, 0]).asImmutable()), signature('t.add', [100, 0]).asImmutable()).applyAsync();
    await last.get({ timeout: 5_000 });
    const fanout = last.parent as AsyncResult;
    const children = await fanout.children();
    expect(children.map((child) => (child instanceof GroupResult ? `group of ${child.results.length}` : 'task'))).toEqual(['task', 'group of 2', 'task', 'task', 'task']);
    expect(children[4].id).toBe(last.id); // the chain's next step comes last, after the callback
    const collected: unknown[] = [];
    for await (const [, value] of fanout.collect({ timeout: 5_000 })) collected.push(value);
    // Breadth first, as Celery's iterdeps: the task, its children in order, the group's members, then the sent chain's next step.
    expect(collected).toEqual(['fanned out', 2, [4, 6], 8, 0, 100, 4, 6, 9]);
  });

  it('a task sent on its own has no parent; a chain step has the step before as parent', async () => {
    const runtime = await startWorker([add]);
    const client = runtime.parts.client;
    const alone = await client.send('t.add', [1, 1]);
    expect(alone.parent).toBeNull();
    const last = await chain(client.signature('t.add', [1, 1]), signature('t.add', [1])).applyAsync();
    expect(await (last.parent as AsyncResult).get({ timeout: 5_000 })).toBe(2);
    expect(await alone.children()).toEqual([]);
  });
});

describe("errbacks taking Celery's (request, exc, traceback), called in-process", () => {
  const failing = task('t.fail', () => {
    throw new RangeError('out of range');
  });
  /** An errback registered with errbackWithRequest: what it was called with. */
  function requestErrback(name: string, calls: unknown[][], behaviour: () => void = () => undefined): TaskDefinition {
    return {
      name,
      options: { errbackWithRequest: true },
      source: `test ${name}`,
      prepare: (args) => () => {
        calls.push([...args, currentTask().id]);
        behaviour();
      },
    };
  }

  it("calls an errback registered with errbackWithRequest with (request, exc, traceback, ...its args), and still sends the old-style ones with the task's id", async () => {
    const calls: unknown[][] = [];
    const oldStyle: unknown[] = [];
    const runtime = await startWorker([failing, requestErrback('t.on_error', calls), task('t.old_errback', (failedId: string) => void oldStyle.push(failedId))]);
    const result = await runtime.parts.client.send('t.fail', [], { linkError: [signature('t.on_error', ['extra']), signature('t.old_errback')], headers: { tenant: 'acme' } });
    await eventually(() => (calls.length === 1 && oldStyle.length === 1 ? true : undefined));
    const [request, error, traceback, extra, contextId] = calls[0] as [TaskContext, Error, string, string, string];
    expect(request).toMatchObject({ id: result.id, name: 't.fail', headers: { tenant: 'acme' } });
    expect(error).toBeInstanceOf(RangeError);
    expect(traceback).toContain('out of range');
    expect(extra).toBe('extra');
    expect(contextId).toBe(result.id); // run in the failed task's context
    expect(oldStyle).toEqual([result.id]);
    expect(received.map((message) => message.task).sort()).toEqual(['t.fail', 't.old_errback']); // no message for the in-process one
    expect((await stored(runtime, result.id)).status).toBe('FAILURE');
  });

  it('an in-process errback that throws is logged; the failure stored stays as it is', async () => {
    const calls: unknown[][] = [];
    const logs: string[] = [];
    const id = randomUUID();
    const runtime = await createCeleryRuntime(
      { broker: `memory://errbacks-${id}`, backend: `memory://errbacks-${id}`, worker: { hostname: `errbacks-${id}@%h`, exitOnRemoteShutdown: false } },
      {
        logger: { log: () => undefined, warn: () => undefined, error: (line: string) => void logs.push(line) },
        tasks: [failing, requestErrback('t.on_error', calls, () => { throw new Error('errback broke'); })],
      },
    );
    runtimes.push(runtime);
    await runtime.start();
    const result = await runtime.parts.client.send('t.fail', [], { linkError: signature('t.on_error') });
    await eventually(() => (logs.some((line) => line.includes('errback broke')) ? true : undefined));
    expect(logs.find((line) => line.includes('errback broke'))).toBe(`Errback t.on_error of task t.fail[${result.id}] failed: errback broke`);
    expect((await stored(runtime, result.id)).result).toMatchObject({ exc_type: 'ValueError', exc_message: ['out of range'] });
  });
});

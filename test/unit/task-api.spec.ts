import { randomUUID } from 'node:crypto';
import { chain, chord, chunks, group, xmap, xstarmap } from '../../lib/client/canvas/canvas';
import { GroupResult } from '../../lib/client/canvas/group-result';
import { signature } from '../../lib/client/canvas/signature';
import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { InvalidSendOptionsError } from '../../lib/errors/invalid-send-options.error';
import type { TaskResultMeta } from '../../lib/protocol/result-meta';
import { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { createCeleryRuntime } from '../../lib/runtime/create-celery-runtime';
import type { TaskDefinition } from '../../lib/task/task-definition';
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

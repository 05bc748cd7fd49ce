import { INestApplicationContext, Injectable } from '@nestjs/common';
import { AsyncResult, CeleryClient, CeleryTask, chain, chunks, currentTask, signature, xmap, xstarmap } from '../../lib';
import type { TaskContext } from '../../lib';
import { MathTasks } from '../../sample-app/src/tasks/math.tasks';
import { eventually, startCeleryApp } from '../support/celery-app';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { redisUrl } from '../support/redis';
import { CrossLanguagePair, startCrossLanguagePair } from '../support/cross-language-pair';
import type { TestEnvironment } from '../support/test-environment';

/**
 * The rest of Celery's task API across languages (RabbitMQ, PostgreSQL results): what Python's
 * add.map() / add.starmap() / add.chunks() send runs on our worker, and ours on a Python worker;
 * a Python caller's get() on a task our worker replaced; children and collect() both ways.
 */
const pythonQueue = uniqueName('it-taskapi-py');

/** What the Nest errback taking (request, exc, traceback) was called with. */
const errbackCalls: { id: string; name: string; error: string; traceback: string | null }[] = [];

@Injectable()
class TaskApiTasks {
  @CeleryTask('nest.fail')
  fail(message: string): never {
    throw new Error(message);
  }

  /** Celery's `def on_error(request, exc, traceback)`, said with errbackWithRequest. */
  @CeleryTask({ name: 'nest.on_error', errbackWithRequest: true })
  onError(request: TaskContext, exc: unknown, traceback: string | null): void {
    errbackCalls.push({ id: request.id, name: request.name, error: (exc as Error).message, traceback });
  }

  /** Replaces itself with tasks.mul(x, 10) on the Python worker (Celery's `return self.replace(mul.s(x, 10))`). */
  @CeleryTask('nest.times_ten_on_python')
  timesTenOnPython(x: number): never {
    return currentTask().replace(signature('tasks.mul', [x, 10], {}, { queue: pythonQueue }));
  }
}

describe('task API across languages', () => {
  let pair: CrossLanguagePair;
  let env: TestEnvironment;
  let celery: CeleryClient;
  let settings: CrossLanguagePair['settings'];

  beforeAll(async () => {
    pair = await startCrossLanguagePair('it-taskapi', [MathTasks, TaskApiTasks], pythonQueue);
    ({ env, celery, settings } = pair);
  }, 60_000);

  afterAll(() => pair?.stop());

  it('runs a Python-sent add.chunks(zip(range(10), range(10)), 2) on the Nest worker; Python reads the results', async () => {
    const output = await runInteropClient<number[][]>(
      `import json
from interop_tasks import add
r = add.chunks(zip(range(10), range(10)), 2).apply_async(queue=${JSON.stringify(env.queue)})
print(json.dumps(r.get(timeout=20)))`,
      settings,
    );
    expect(output).toEqual([[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]]);
  });

  it('runs Python-sent add.starmap() and xsum.map() on the Nest worker', async () => {
    const output = await runInteropClient<{ starmap: number[]; map: number[] }>(
      `import json
from interop_tasks import add, xsum
s = add.starmap([(1, 2), (3, 4)]).apply_async(queue=${JSON.stringify(env.queue)})
m = xsum.map([[1, 2, 3], [10, 20]]).apply_async(queue=${JSON.stringify(env.queue)})
print(json.dumps({"starmap": s.get(timeout=20), "map": m.get(timeout=20)}))`,
      settings,
    );
    expect(output).toEqual({ starmap: [3, 7], map: [6, 30] });
  });

  it('sends map, starmap and chunks that the Python worker runs', async () => {
    const py = (task: string) => celery.signature(task, [], {}, { queue: pythonQueue });
    const mapped = await xmap<number>(py('tasks.xsum'), [[1, 1], [2, 2, 2]]).set({ queue: pythonQueue }).applyAsync();
    const starmapped = await xstarmap<number>(py('tasks.mul'), [[2, 3], [4, 5]]).set({ queue: pythonQueue }).applyAsync();
    const chunked = await chunks<number>(py('tasks.add'), [[1, 1], [2, 2], [3, 3]], 2).set({ queue: pythonQueue }).applyAsync();
    expect(await mapped.get({ timeout: 20_000 })).toEqual([2, 6]);
    expect(await starmapped.get({ timeout: 20_000 })).toEqual([6, 20]);
    expect(await chunked.get({ timeout: 20_000 })).toEqual([[2, 4], [6]]);
  });

  it("gives a Python caller's get() the result of the replacement of a task our worker replaced, in a chain too", async () => {
    const output = await runInteropClient<{ alone: number; chained: number; replaced: number }>(
      `import json
from celery import chain
from interop_tasks import app, add
nest, py = ${JSON.stringify(env.queue)}, ${JSON.stringify(pythonQueue)}
alone = app.send_task("nest.times_ten_on_python", (4,), queue=nest)
r = chain(add.s(1, 1).set(queue=py), app.signature("nest.times_ten_on_python").set(queue=nest), add.s(5).set(queue=py))()
print(json.dumps({"alone": alone.get(timeout=20), "chained": r.get(timeout=20), "replaced": r.parent.get(timeout=5)}))`,
      settings,
    );
    expect(output).toEqual({ alone: 40, chained: 25, replaced: 20 });
  });

  it('calls our errback taking (request, exc, traceback) in-process for a Python-sent task that failed on our worker', async () => {
    const output = await runInteropClient<{ id: string; raised: string }>(
      `import json
from interop_tasks import app
r = app.send_task("nest.fail", ("boom",), queue=${JSON.stringify(env.queue)}, link_error=app.signature("nest.on_error"))
try:
    r.get(timeout=20)
    raised = "nothing"
except Exception as exc:
    raised = repr(exc)
print(json.dumps({"id": r.id, "raised": raised}))`,
      settings,
    );
    expect(output.raised).toContain('boom');
    const call = await eventually(() => errbackCalls.find((candidate) => candidate.id === output.id), 10_000, 'the errback call');
    expect(call).toMatchObject({ name: 'nest.fail', error: 'boom' });
    expect(call.traceback).toContain('boom');
  });
});

/** Celery's database table has no `children` column; Redis keeps them in the result meta, where both sides read them. */
describe('the result graph across languages (Redis results)', () => {
  const nestQueue = uniqueName('it-graph-nest');
  const pyQueue = uniqueName('it-graph-py');
  const settings = { resultBackend: redisUrl(12), defaultQueue: pyQueue };
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let python: PythonWorker;

  beforeAll(async () => {
    [app, python] = await Promise.all([
      startCeleryApp({ broker: RABBITMQ_URL, backend: settings.resultBackend, defaultQueue: nestQueue }, [MathTasks]),
      startPythonWorker({ queues: [pyQueue], ...settings }),
    ]);
    celery = app.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await deleteQueues(nestQueue, pyQueue);
  });

  it("Python reads the children our worker stored, and collect()s through them", async () => {
    const output = await runInteropClient<{ children: string[]; collected: number[]; last: string }>(
      `import json
from celery import chain
from interop_tasks import add
nest = ${JSON.stringify(nestQueue)}
r = chain(add.s(1, 1).set(queue=nest), add.s(2).set(queue=nest), add.s(3).set(queue=nest))()
r.get(timeout=20)
first = r.parent.parent
# A step's result is stored after it sent the next step (Celery's trace.py, and our worker after
# the broker's confirm): the last step can finish first, so wait for the first step's own result.
first.get(timeout=10)
print(json.dumps({"children": [c.id for c in first.children], "collected": [v for _, v in first.collect(timeout=10)], "last": r.parent.id}))`,
      settings,
    );
    expect(output).toEqual({ children: [output.last], collected: [2, 4, 7], last: output.last });
  });

  it('reads the children a Python worker stored, and collect()s through them', async () => {
    const py = (...args: number[]) => celery.signature('tasks.add', args, {}, { queue: pyQueue });
    const last = await chain(py(1, 1), py(2), py(3)).applyAsync();
    await last.get({ timeout: 20_000 });
    const first = (last.parent as AsyncResult).parent as AsyncResult;
    // The Python worker stores a step's result after sending the next one: wait for the first's own.
    await first.get({ timeout: 10_000 });
    expect((await first.children()).map((child) => child.id)).toEqual([(last.parent as AsyncResult).id]);
    const collected: unknown[] = [];
    for await (const [, value] of first.collect({ timeout: 10_000 })) collected.push(value);
    expect(collected).toEqual([2, 4, 7]);
  });
});

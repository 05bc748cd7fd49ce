import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, chunks, currentTask, signature, xmap, xstarmap } from '../../lib';
import { MathTasks } from '../../sample-app/src/tasks/math.tasks';
import { startCeleryApp } from '../support/celery-app';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The rest of Celery's task API across languages (RabbitMQ, PostgreSQL results): what Python's
 * add.map() / add.starmap() / add.chunks() send runs on our worker, and ours on a Python worker.
 */
const pythonQueue = uniqueName('it-taskapi-py');

@Injectable()
class ReplacingTasks {
  /** Replaces itself with tasks.mul(x, 10) on the Python worker (Celery's `return self.replace(mul.s(x, 10))`). */
  @CeleryTask('nest.times_ten_on_python')
  timesTenOnPython(x: number): never {
    return currentTask().replace(signature('tasks.mul', [x, 10], {}, { queue: pythonQueue }));
  }
}

describe('task API across languages', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let python: PythonWorker;
  let settings: { resultBackend: string; defaultQueue: string };

  beforeAll(async () => {
    env = await createTestEnvironment('it-taskapi');
    env.alsoRemove(pythonQueue);
    settings = { resultBackend: `db+${env.databaseUrl}`, defaultQueue: pythonQueue };
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, [MathTasks, ReplacingTasks]);
    celery = app.get(CeleryClient);
    python = await startPythonWorker({ queues: [pythonQueue], ...settings });
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

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
});

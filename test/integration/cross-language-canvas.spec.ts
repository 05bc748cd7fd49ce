import { CeleryClient, chain, chord, group, GroupResult } from '../../lib';
import { MathTasks } from '../../sample-app/src/tasks/math.tasks';
import { CrossLanguagePair, startCrossLanguagePair } from '../support/cross-language-pair';
import { runInteropClient } from '../support/python-worker';
import type { TestEnvironment } from '../support/test-environment';

/**
 * Workflows mixing a Nest worker and a Python Celery 5.2.6 worker (database backend): each side
 * continues the other's chains, runs its group members and joins its chords.
 */
describe('canvas across languages', () => {
  let pair: CrossLanguagePair;
  let env: TestEnvironment;
  let celery: CeleryClient;
  let pythonQueue: string;
  let settings: CrossLanguagePair['settings'];

  beforeAll(async () => {
    pair = await startCrossLanguagePair('it-xl-canvas', [MathTasks]);
    ({ env, celery, pythonQueue, settings } = pair);
  }, 60_000);

  afterAll(() => pair?.stop());

  const py = (task: string, args: unknown[]) => celery.signature(task, args, {}, { queue: pythonQueue });
  const nest = (task: string, args: unknown[]) => celery.signature(task, args, {}, { queue: env.queue });

  it('continues a Python chain whose middle step runs on the Nest worker', async () => {
    const output = await runInteropClient<{ result: number; parent: number }>(
      `import json
from interop_tasks import add, mul
r = (add.s(2, 2) | mul.s(10).set(queue=${JSON.stringify(env.queue)}) | add.s(1).set(queue=${JSON.stringify(pythonQueue)}))()
print(json.dumps({"result": r.get(timeout=20), "parent": r.parent.get(timeout=5)}))`,
      settings,
    );
    expect(output).toEqual({ result: 41, parent: 40 });
  });

  it('runs a Nest chain whose middle step runs on the Python worker', async () => {
    const result = await chain(nest('tasks.add', [2, 2]), py('tasks.mul', [10]), nest('tasks.add', [1])).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toBe(41);
    expect(await result.parent!.get({ timeout: 5_000 })).toBe(40);
  });

  it('runs a group across both workers, saved for Python to restore', async () => {
    const result = await group([nest('tasks.add', [1, 1]), py('tasks.add', [2, 2]), nest('tasks.mul', [3, 3]), py('tasks.mul', [4, 4])]).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual([2, 4, 9, 16]);
    await result.save();
    const restored = await runInteropClient<number[]>(
      `import json
from celery.result import GroupResult
from interop_tasks import app
print(json.dumps(GroupResult.restore(${JSON.stringify(result.id)}, app=app).join(timeout=10)))`,
      settings,
    );
    expect(restored).toEqual([2, 4, 9, 16]);
  });

  it('reads a group saved by Python', async () => {
    const groupId = await runInteropClient<string>(
      `import json
from celery import group
from interop_tasks import add
r = group(add.s(i, i) for i in range(3))()
r.save()
r.join(timeout=10)
print(json.dumps(r.id))`,
      settings,
    );
    const restored = await GroupResult.restore<number>(groupId, celery);
    expect(await restored!.get({ timeout: 5_000 })).toEqual([0, 2, 4]);
  });

  it('joins a Nest chord whose header mixes both workers and whose body runs on Python (celery.chord_unlock)', async () => {
    const header = [nest('tasks.add', [1, 1]), py('tasks.add', [2, 2]), nest('tasks.add', [3, 3])];
    const result = await chord(header, py('tasks.xsum', [])).applyAsync([], {}, { chordJoin: 'chord_unlock' });
    expect(await result.get({ timeout: 20_000 })).toBe(12);
  });

  it('joins a Python chord whose body runs on the Nest worker (our celery.chord_unlock)', async () => {
    const output = await runInteropClient<number>(
      `import json
from celery import chord
from interop_tasks import add, xsum
r = chord([add.s(1, 1), add.s(2, 2).set(queue=${JSON.stringify(env.queue)})], xsum.s().set(queue=${JSON.stringify(env.queue)}))()
print(json.dumps(r.get(timeout=30)))`,
      settings,
    );
    expect(output).toBe(6);
  });
});

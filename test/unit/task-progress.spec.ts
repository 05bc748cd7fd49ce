import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CeleryClient, CeleryTask, currentTask, InvalidTaskStateError, TaskProgress } from '../../lib';
import { CeleryTestingModule, runTask } from '../../lib/testing';
import { progressMeta } from '../../lib/protocol/progress-meta';
import { checkedStore } from '../../lib/worker/create-task-context';

/**
 * What a task reports with setProgress()/updateState(), before any backend: the meta Django's
 * celery-progress writes (percentages from its ProgressRecorder, run on Python 3 with Decimal),
 * and the states refused before anything is sent.
 */
describe('progress meta (celery-progress ProgressRecorder.set_progress)', () => {
  // [current, total, percent] as celery_progress.backend.ProgressRecorder computes them.
  const python: [number, number, number][] = [
    [1, 32, 3.12], // 3.125 rounds half to even
    [3, 32, 9.38], // 9.375 rounds half to even, upwards
    [1, 3, 33.33],
    [2, 3, 66.67],
    [5, 8, 62.5],
    [7, 7, 100],
    [0, 10, 0],
    [3, 0, 0],
    [1, 6, 16.67],
    [1.5, 4, 37.5],
    [1, 800, 0.12],
  ];

  it.each(python)('set_progress(%p, %p) has percent %p', (current, total, percent) => {
    expect(progressMeta(current, total, 'x')).toEqual({ pending: false, current, total, percent, description: 'x' });
  });

  it('keeps celery-progress key order and an empty description by default', () => {
    expect(JSON.stringify(progressMeta(1, 2))).toBe('{"pending":false,"current":1,"total":2,"percent":50,"description":""}');
  });
});

describe('updateState() checks', () => {
  const stored: unknown[] = [];
  const store = async (update: unknown) => void stored.push(update);

  it('stores for the running task, or for the task id given, with meta null by default', async () => {
    await checkedStore('running', { state: 'PROGRESS', meta: { done: 1 } }, store);
    await checkedStore('running', { state: 'CHECKING', taskId: 'other' }, store);
    expect(stored).toEqual([
      { taskId: 'running', state: 'PROGRESS', meta: { done: 1 } },
      { taskId: 'other', state: 'CHECKING', meta: null },
    ]);
  });

  it.each([[''], ['X'.repeat(51)], [undefined], [7]])('refuses state %p, saying what is expected', async (state) => {
    const refused = checkedStore('t1', { state } as never, store);
    await expect(refused).rejects.toThrow(InvalidTaskStateError);
    await expect(refused).rejects.toThrow(/Cannot update the state of task t1: got state .*; expected a state name of 1 to 50 characters/);
  });

  it('refuses an empty task id', async () => {
    await expect(checkedStore('t1', { state: 'PROGRESS', taskId: '' }, store)).rejects.toThrow(/taskId must be a task id/);
  });

  it('runTask() hands setProgress to the updateState a test gives', async () => {
    const updateState = jest.fn(async () => undefined);
    await runTask(() => currentTask().setProgress(1, 4, 'first'), { updateState });
    expect(updateState).toHaveBeenCalledWith({ state: 'PROGRESS', meta: { pending: false, current: 1, total: 4, percent: 25, description: 'first' } });
  });
});

/** Held `imports.rows` tasks, by id. */
const held = new Map<string, () => void>();

@Injectable()
class ImportTasks {
  @CeleryTask({ name: 'imports.rows' })
  async rows(total: number): Promise<number> {
    const task = currentTask();
    const released = new Promise<void>((resolve) => held.set(task.id, resolve));
    await task.setProgress(1, total, 'first row');
    await released;
    return total;
  }
}

describe('progress in CeleryTestingModule (in-process broker and results)', () => {
  it('is seen by watch() while an eager task runs, then the result', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CeleryTestingModule.forRoot({ alwaysEager: true })], providers: [ImportTasks] }).compile();
    await moduleRef.init();
    try {
      const celery = moduleRef.get(CeleryClient);
      // Eager: send() resolves once the task is done, so the watch starts first, on the id the send will use.
      const taskId = 'eager-import';
      const seen: TaskProgress[] = [];
      const watching = (async () => {
        for await (const progress of celery.asyncResult(taskId).watch({ timeout: 5_000 })) {
          seen.push(progress);
          if (progress.state === 'PROGRESS') held.get(taskId)!();
        }
      })();
      const result = await celery.send('imports.rows', [4], { taskId });
      await watching;
      const firstRow = { state: 'PROGRESS', meta: { pending: false, current: 1, total: 4, percent: 25, description: 'first row' } };
      expect(seen).toEqual([{ state: 'PENDING', meta: null }, firstRow, { state: 'SUCCESS', meta: 4 }]);
      expect(await result.progress()).toEqual({ state: 'SUCCESS', meta: 4 });
    } finally {
      await moduleRef.close();
    }
  });
});

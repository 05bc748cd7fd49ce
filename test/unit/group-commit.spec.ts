import { GroupCommit } from '../../lib/backend/group-commit';

/** A write the test finishes by hand, to see what waits for it. */
function deferredWrites() {
  const calls: { items: number[]; finish(outcomes?: (unknown | undefined)[]): void }[] = [];
  const write = (items: number[]) =>
    new Promise<(unknown | undefined)[]>((resolve) => calls.push({ items, finish: (outcomes) => resolve(outcomes ?? items.map(() => undefined)) }));
  return { calls, write };
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('GroupCommit', () => {
  it('writes items added in one turn as one batch, the next ones together once it is written', async () => {
    const { calls, write } = deferredWrites();
    const commit = new GroupCommit(write, 10);
    const first = [1, 2, 3].map((item) => commit.add(item));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.map((call) => call.items)).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((item) => commit.add(item));
    calls[0].finish();
    await Promise.all(first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.map((call) => call.items)).toEqual([[1, 2, 3], [4, 5]]);
    calls[1].finish([undefined, new Error('refused')]);
    await expect(second[0]).resolves.toBeUndefined();
    await expect(second[1]).rejects.toThrow('refused');
  });

  it('is idle at once when nothing was added', async () => {
    const commit = new GroupCommit(deferredWrites().write, 10);
    expect(await settled(commit.idle())).toBe(true);
  });

  it('becomes idle only once every item added so far is settled, those added during a write included', async () => {
    const { calls, write } = deferredWrites();
    const commit = new GroupCommit(write, 2);
    const outcomes: Promise<unknown>[] = [];
    const add = (item: number) => outcomes.push(commit.add(item).then(() => 'written', (error: Error) => error.message));
    [1, 2, 3].forEach(add);
    const idle = commit.idle();
    await new Promise((resolve) => setImmediate(resolve));
    add(4); // during the first write
    calls[0].finish();
    expect(await settled(idle)).toBe(false);
    expect(calls.map((call) => call.items)).toEqual([[1, 2], [3, 4]]);
    calls[1].finish([undefined, new Error('refused')]);
    expect(await settled(idle)).toBe(true);
    expect(await Promise.all(outcomes)).toEqual(['written', 'written', 'written', 'refused']);
  });
});

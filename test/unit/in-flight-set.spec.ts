import { InFlightSet } from '../../lib/utils/in-flight-set';

describe('InFlightSet (the worker\'s running and handled tasks, without a Map)', () => {
  it('adds, deletes by entry in any order, and keeps the others reachable', () => {
    const set = new InFlightSet<string>();
    const entries = ['a', 'b', 'c', 'd'].map((value) => set.add(value));
    expect(set.size).toBe(4);
    expect(set.delete(entries[1])).toBe(true); // 'd' moves into b's place
    expect(set.values().sort()).toEqual(['a', 'c', 'd']);
    expect(set.delete(entries[3])).toBe(true); // the moved entry is still found where it went
    expect(set.delete(entries[0])).toBe(true);
    expect(set.values()).toEqual(['c']);
    expect(set.delete(entries[2])).toBe(true);
    expect(set.size).toBe(0);
    expect(set.values()).toEqual([]);
  });

  it('says false for an entry deleted already, changing nothing', () => {
    const set = new InFlightSet<number>();
    const first = set.add(1);
    set.add(2);
    expect(set.delete(first)).toBe(true);
    expect(set.delete(first)).toBe(false);
    expect(set.values()).toEqual([2]);
  });

  it('hands out a copy of its values, so a caller can delete while it walks them', () => {
    const set = new InFlightSet<{ id: number }>();
    const entries = [1, 2, 3].map((id) => set.add({ id }));
    for (const value of set.values()) set.delete(entries.find((entry) => entry.value === value)!);
    expect(set.size).toBe(0);
  });

  it('survives churn like a worker\'s: thousands of adds and deletes with ten in flight', () => {
    const set = new InFlightSet<number>();
    const live: ReturnType<typeof set.add>[] = [];
    for (let task = 0; task < 5000; task++) {
      live.push(set.add(task));
      if (live.length > 10) expect(set.delete(live.splice(task % 7 % live.length, 1)[0])).toBe(true);
    }
    expect(set.size).toBe(10);
    expect(set.values().sort((a, b) => a - b)).toEqual(live.map((entry) => entry.value).sort((a, b) => a - b));
  });
});

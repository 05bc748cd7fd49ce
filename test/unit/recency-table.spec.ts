import { KeyedTable } from '../../lib/utils/keyed-table';
import { RecencyTable } from '../../lib/utils/recency-table';

describe('KeyedTable (per-task entries by id, without a Map)', () => {
  it('sets, gets, counts and deletes by key, including keys an object prototype would shadow', () => {
    const table = new KeyedTable<number>();
    for (const [index, key] of ['a', 'constructor', '__proto__', 'toString', '42'].entries()) table.set(key, index);
    table.set('a', 9); // an update, not a new key
    expect(table.size).toBe(5);
    expect(table.get('a')).toBe(9);
    expect(table.get('__proto__')).toBe(2);
    expect(table.get('hasOwnProperty')).toBeUndefined();
    expect(table.delete('constructor')).toBe(true);
    expect(table.delete('constructor')).toBe(false);
    expect(table.keys().sort()).toEqual(['42', '__proto__', 'a', 'toString']);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get('a')).toBeUndefined();
  });
});

describe('RecencyTable (latest states and notified ids, bounded, without a Map)', () => {
  it('drops the least recently set key past its bound, an update making a key the most recent', () => {
    const table = new RecencyTable<string>(3);
    table.set('a', 'a1');
    table.set('b', 'b1');
    table.set('c', 'c1');
    table.set('a', 'a2'); // now b is the least recent
    table.set('d', 'd1');
    expect(table.size).toBe(3);
    expect(table.get('b')).toBeUndefined();
    expect(table.get('a')).toBe('a2');
    table.set('e', 'e1'); // drops c
    expect(['a', 'c', 'd', 'e'].map((key) => table.get(key))).toEqual(['a2', undefined, 'd1', 'e1']);
  });

  it('deletes and clears, and keeps its bound through long churn', () => {
    const table = new RecencyTable<number>(100);
    for (let id = 0; id <= 10_000; id++) {
      table.set(`task-${id}`, id);
      if (id % 3 === 0) expect(table.delete(`task-${id}`)).toBe(true);
    }
    expect(table.delete('task-0')).toBe(false);
    expect(table.size).toBe(100);
    expect(table.get('task-9998')).toBe(9998);
    expect(table.get('task-9000')).toBeUndefined();
    table.clear();
    expect(table.size).toBe(0);
    table.set('x', 1);
    expect(table.get('x')).toBe(1);
  });
});

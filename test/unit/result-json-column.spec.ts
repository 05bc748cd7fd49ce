import { toResultJsonColumn } from '../../lib/backend/database/result-json-column';
import { pythonTuple } from '../../lib/protocol/pickle';

describe('toResultJsonColumn', () => {
  it('writes JSON for plain values, tuples as arrays, big integers exactly', () => {
    expect(toResultJsonColumn({ a: [1, 'x', null, true], t: pythonTuple([1, 2]), big: 2n ** 70n })).toBe(
      '{"a":[1,"x",null,true],"t":[1,2],"big":1180591620717411303424}',
    );
    expect(toResultJsonColumn('text')).toBe('"text"');
  });

  it('is null for no result and for values JSON (or jsonb) cannot hold', () => {
    expect(toResultJsonColumn(null)).toBeNull();
    expect(toResultJsonColumn(undefined)).toBeNull();
    expect(toResultJsonColumn(Buffer.from('x'))).toBeNull();
    expect(toResultJsonColumn({ when: new Date() })).toBeNull();
    expect(toResultJsonColumn([Number.NaN])).toBeNull();
    expect(toResultJsonColumn({ text: 'nul \u0000 inside' })).toBeNull(); // jsonb refuses \u0000
    expect(toResultJsonColumn(new Map())).toBeNull();
  });

  it('gives up on values nested too deep instead of recursing without end', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 500; level++) deep = [deep];
    expect(toResultJsonColumn(deep)).toBeNull();
  });
});

import { buildStoreResultsSql, NOTIFY_PAYLOAD_LIMIT_BYTES, notifyChunks, toColumnArrays } from '../../lib/backend/database/store-results-sql';

describe('store-results SQL', () => {
  it('takes one array per column, whatever the number of rows: task id, the stored columns, the notify chunk', () => {
    const sql = buildStoreResultsSql(true);
    expect(sql).toContain('unnest($1::varchar[], $2::varchar[], $3::bytea[], $4::timestamp[]');
    expect(sql).toContain('$13::integer[])'); // 11 columns + id + chunk (extended)
    expect(sql).not.toContain('$14');
    expect(buildStoreResultsSql(false)).toContain('$7::integer[])'); // 5 base columns + id + chunk
    expect(buildStoreResultsSql(false)).not.toContain('$8');
  });

  it('turns rows of parameters into column arrays, the notify chunks last', () => {
    const rows = [
      ['id-1', 'SUCCESS', Buffer.from('a')],
      ['id-2', 'STARTED', null],
    ];
    expect(toColumnArrays(rows, [0, null])).toEqual([['id-1', 'id-2'], ['SUCCESS', 'STARTED'], [Buffer.from('a'), null], [0, null]]);
  });

  it('cuts the ready ids into NOTIFY payloads under 8000 bytes, and leaves the others out', () => {
    const ids = Array.from({ length: 1_000 }, (_, index) => `${'é'.repeat(140)}-${index}`); // 155 chars, 295 bytes
    const ready = ids.map((_, index) => index % 3 !== 0);
    const chunks = notifyChunks(ids, ready);
    expect(chunks.filter((chunk, index) => (chunk === null) !== !ready[index])).toEqual([]);
    const payloads = new Map<number, string[]>();
    chunks.forEach((chunk, index) => chunk !== null && payloads.set(chunk, [...(payloads.get(chunk) ?? []), ids[index]]));
    expect(payloads.size).toBeGreaterThan(1);
    for (const members of payloads.values()) {
      // PostgreSQL's json_agg separates with ", ": a little longer than JSON.stringify.
      const payload = `[${members.map((id) => JSON.stringify(id)).join(', ')}]`;
      expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(NOTIFY_PAYLOAD_LIMIT_BYTES);
    }
    expect([...payloads.values()].flat()).toHaveLength(ready.filter(Boolean).length);
  });
});

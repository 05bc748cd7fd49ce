import { buildStoreResultsSql, NOTIFY_PAYLOAD_LIMIT_BYTES, notifyChunks } from '../../lib/backend/database/store-results-sql';

describe('store-results SQL', () => {
  it('numbers the parameters of every row: task id, the stored columns, the notify chunk', () => {
    const sql = buildStoreResultsSql(true, 3);
    expect(sql).toContain('($1::varchar,');
    expect(sql).toContain('$13::integer), ($14::varchar,'); // 11 columns + id + chunk per row (extended)
    expect(sql).toContain('$39::integer)');
    expect(sql).not.toContain('$40');
    expect(buildStoreResultsSql(false, 1)).toContain('$7::integer)'); // 5 base columns + id + chunk
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

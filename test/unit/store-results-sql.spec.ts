import { buildStoreResultsSql, NOTIFY_PAYLOAD_LIMIT_BYTES, notifyChunks, toRowsParameter } from '../../lib/backend/database/store-results-sql';
import { toStoreRow } from '../../lib/backend/database/task-result-row';
import { encodePickle } from '../../lib/protocol/pickle';
import { TaskResultMeta } from '../../lib/protocol/result-meta';

describe('store-results SQL', () => {
  it('takes two parameters whatever the number of rows: the rows as JSON, the notify chunks', () => {
    const sql = buildStoreResultsSql(true);
    expect(sql).toContain('json_to_recordset($1::json) AS (task_id varchar, status varchar, result bytea, date_done timestamp, traceback text, result_json text, name varchar, args text, kwargs text, worker varchar, retries integer, queue varchar)');
    expect(sql).toContain('unnest($2::integer[])');
    // json_to_recordset is estimated at 100 rows; the limit gives the planner the real count.
    expect(sql).toContain('LIMIT cardinality($2::integer[])');
    expect(sql).not.toContain('$3');
    // Sent as text, stored as the column's type: args/kwargs as their UTF-8 bytes, result_json as jsonb.
    expect(sql).toContain("convert_to(input.args, 'UTF8')");
    expect(sql).toContain('input.result_json::jsonb');
    const base = buildStoreResultsSql(false);
    expect(base).toContain('AS (task_id varchar, status varchar, result bytea, date_done timestamp, traceback text, result_json text)');
    expect(base).not.toContain('kwargs');
  });

  it('writes each row as one JSON object keyed by column, and a batch as their array', () => {
    const meta: TaskResultMeta = {
      taskId: 'id-"1"',
      status: 'SUCCESS',
      result: 'ok',
      traceback: null,
      children: [],
      dateDone: new Date('2026-11-24T08:36:00.388Z'),
      name: 'proto.echo',
      args: [1, 'é'],
      kwargs: {},
      worker: 'w@h',
      retries: 0,
      queue: 'celery',
    };
    const row = JSON.parse(toStoreRow(meta, true));
    expect(row).toEqual({
      task_id: 'id-"1"',
      status: 'SUCCESS',
      result: `\\x${encodePickle('ok').toString('hex')}`, // bytea hex input
      date_done: '2026-11-24T08:36:00.388000',
      traceback: null,
      result_json: '"ok"',
      name: 'proto.echo',
      args: '[1, "\\u00e9"]',
      kwargs: '{}',
      worker: 'w@h',
      retries: 0,
      queue: 'celery',
    });
    expect(Object.keys(JSON.parse(toStoreRow(meta, false)))).toEqual(['task_id', 'status', 'result', 'date_done', 'traceback', 'result_json']);
    expect(JSON.parse(toRowsParameter([toStoreRow(meta, true), toStoreRow({ ...meta, taskId: 'id-2' }, true)])).map((parsed: { task_id: string }) => parsed.task_id)).toEqual(['id-"1"', 'id-2']);
  });

  it('writes a lone surrogate as U+FFFD (as node-postgres would), which PostgreSQL JSON accepts', () => {
    const row = toStoreRow({ taskId: 'id', status: 'FAILURE', result: null, traceback: 'x\ud800y', children: [], dateDone: null, worker: '\udc00' }, true);
    expect(row).not.toMatch(/\\ud[89a-f]/i);
    expect(JSON.parse(row)).toMatchObject({ traceback: 'x\ufffdy', worker: '\ufffd' });
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

import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { buildStoreResultsSql, toRowsParameter } from '../../lib/backend/database/store-results-sql';
import { toStoreRow } from '../../lib/backend/database/task-result-row';
import { celeryResultEntities } from '../../lib/backend/database/entities';
import { celeryResultMigrations } from '../../lib/backend/database/migrations';
import { ResultBackendConfigurationError } from '../../lib/errors/result-backend-configuration.error';
import { ResultDecodeError } from '../../lib/errors/result-decode.error';
import { ResultEncodeError } from '../../lib/errors/result-encode.error';
import { ResultStoreError } from '../../lib/errors/result-store.error';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { decodePickle, pythonTuple } from '../../lib/protocol/pickle';
import { toPythonJson } from '../../lib/protocol/python-json';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { loadFixture } from '../support/fixtures';
import { createTestDatabase, TestDatabase, querySql } from '../support/postgres';

const FAILURE_ROW = loadFixture('db_row_failure').row;

let sequence = 0;
/** Unique per test, so tests sharing a database never see each other's rows. */
function newTaskId(label: string): string {
  sequence += 1;
  return `${label}-${process.pid}-${sequence}-${Date.now().toString(36)}`;
}

function meta(taskId: string, overrides: Partial<TaskResultMeta>): TaskResultMeta {
  return { taskId, status: TaskState.SUCCESS, result: null, traceback: null, children: [], dateDone: null, ...overrides };
}

async function rawRow(url: string, taskId: string): Promise<Record<string, any> | undefined> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT * FROM celery_taskmeta WHERE task_id = $1', [taskId]);
    return rows[0];
  } finally {
    await client.end();
  }
}


describe('DatabaseResultBackend on PostgreSQL', () => {
  let database: TestDatabase;
  let backend: DatabaseResultBackend;

  beforeAll(async () => {
    database = await createTestDatabase('db_result_backend');
    // Celery's own URL form, as users copy it from their Python settings.
    backend = new DatabaseResultBackend({ url: `db+${database.url}`, resultExpiresSeconds: null });
    await backend.connect();
  });

  afterAll(async () => {
    await backend?.close();
    await database?.drop();
  });

  it('stores and reads SUCCESS with nested values and every extended column', async () => {
    const taskId = newTaskId('success');
    const value = { a: [1, 2.5, 'x', null, true], nested: { deep: [{ k: 'v' }] }, big: 2n ** 70n, text: 'héllo ✓' };
    const dateDone = new Date('2026-11-24T08:36:00.388Z');
    await backend.storeResult(
      meta(taskId, {
        result: value,
        dateDone,
        name: 'proto.echo',
        args: [1, 'x'],
        kwargs: { k: { n: [1, 2] } },
        worker: 'ts@host',
        retries: 0,
        queue: 'celery',
      }),
    );

    const stored = await backend.getResult(taskId);
    expect(stored).toEqual({
      taskId,
      status: 'SUCCESS',
      result: value,
      traceback: null,
      children: [],
      dateDone,
      name: 'proto.echo',
      args: [1, 'x'],
      kwargs: { k: { n: [1, 2] } },
      worker: 'ts@host',
      retries: 0,
      queue: 'celery',
    });
    const row = await rawRow(database.url, taskId);
    // The exact bytes Python's result_serializer writes (Fx dbext_row_echo).
    expect(row!.args.toString('hex')).toBe('5b312c202278225d');
    expect(row!.kwargs.toString('hex')).toBe('7b226b223a207b226e223a205b312c20325d7d7d');
    expect(row!.date_done).toBeInstanceOf(Date);
    expect((await querySql(database.url, `SELECT date_done::text AS d FROM celery_taskmeta WHERE task_id = $1`, [taskId]))[0].d).toBe(
      '2026-11-24 08:36:00.388',
    );
    // result_json: big integers keep every digit; queryable in SQL.
    const [json] = await querySql(
      database.url,
      `SELECT result_json->'nested'->'deep'->0->>'k' AS k, result_json->>'big' AS big FROM celery_taskmeta WHERE task_id = $1`,
      [taskId],
    );
    expect(json).toEqual({ k: 'v', big: '1180591620717411303424' });
  });

  it('stores FAILURE as the Python exception dict with exc_message as a tuple', async () => {
    const taskId = newTaskId('failure');
    const traceback = 'Traceback (most recent call last):\nValueError: boom\n';
    await backend.storeResult(
      meta(taskId, {
        status: TaskState.FAILURE,
        result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
        traceback,
        dateDone: new Date(),
      }),
    );

    const stored = await backend.getResult(taskId);
    expect(stored!.result).toEqual({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' });
    expect(stored!.traceback).toBe(traceback);
    const row = await rawRow(database.url, taskId);
    const fixtureBytes = Buffer.from(FAILURE_ROW.result.hex, 'hex');
    // The pickle codec writes protocol 3 (the opcodes verified against Celery 5.2.6), Python
    // protocol 5 with framing: different bytes, the same value. Both decode alike here, and the
    // Python test below re-pickles ours with protocol 5 and gets the fixture's bytes exactly.
    expect(row!.result[0]).toBe(0x80);
    expect(decodePickle(row!.result)).toEqual(decodePickle(fixtureBytes));
    expect(row!.result_json).toEqual({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' });
  });

  it('reads the FAILURE row Python wrote (fixture bytes) as an ExceptionInfo', async () => {
    const taskId = newTaskId('python-failure');
    await querySql(
      database.url,
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, traceback)
       VALUES (nextval('task_id_sequence'), $1, 'FAILURE', $2, $3, $4)`,
      [taskId, Buffer.from(FAILURE_ROW.result.hex, 'hex'), FAILURE_ROW.date_done, FAILURE_ROW.traceback],
    );
    const stored = await backend.getResult(taskId);
    expect(stored).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
      traceback: FAILURE_ROW.traceback,
      dateDone: new Date('2026-11-24T08:36:00.388Z'),
      name: null,
      args: null,
    });
  });

  it('stores STARTED and RETRY with date_done NULL, then REVOKED', async () => {
    const taskId = newTaskId('states');
    await backend.storeResult(meta(taskId, { status: TaskState.STARTED, result: { pid: 4242, hostname: 'ts@host' } }));
    expect(await backend.getResult(taskId)).toMatchObject({ status: 'STARTED', result: { pid: 4242, hostname: 'ts@host' }, dateDone: null });

    const retry = { exc_type: 'RuntimeError', exc_message: ['transient'], exc_module: 'builtins' };
    await backend.storeResult(meta(taskId, { status: TaskState.RETRY, result: retry, traceback: 'tb' }));
    expect(await backend.getResult(taskId)).toMatchObject({ status: 'RETRY', result: retry, traceback: 'tb', dateDone: null });
    expect((await rawRow(database.url, taskId))!.date_done).toBeNull();

    const revoked = { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' };
    await backend.storeResult(meta(taskId, { status: TaskState.REVOKED, result: revoked }));
    const stored = await backend.getResult(taskId);
    expect(stored).toMatchObject({ status: 'REVOKED', result: revoked, traceback: null });
    expect(stored!.dateDone).toBeInstanceOf(Date); // a ready state without dateDone gets "now", as Celery
    expect(Math.abs(stored!.dateDone!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('overwrites on every store (no SUCCESS guard, as Celery) and keeps one row and one id', async () => {
    const taskId = newTaskId('upsert');
    await backend.storeResult(meta(taskId, { status: TaskState.SUCCESS, result: 1, dateDone: new Date() }));
    const first = await rawRow(database.url, taskId);
    await backend.storeResult(meta(taskId, { status: TaskState.STARTED, result: null, name: 'again' }));
    const second = await rawRow(database.url, taskId);
    expect(second).toMatchObject({ id: first!.id, status: 'STARTED', result: null, date_done: null, result_json: null, name: 'again' });
    const [{ count }] = await querySql(database.url, 'SELECT count(*)::int AS count FROM celery_taskmeta WHERE task_id = $1', [taskId]);
    expect(count).toBe(1);
  });

  it('leaves the extended columns alone when extended is false (Celery without result_extended)', async () => {
    const taskId = newTaskId('not-extended');
    await backend.storeResult(meta(taskId, { status: TaskState.STARTED, name: 'proto.add', args: [1, 2], worker: 'w1' }));
    const plain = new DatabaseResultBackend({ url: database.url, extended: false, migrationsRun: false, resultExpiresSeconds: 0 });
    await plain.connect();
    try {
      await plain.storeResult(meta(taskId, { result: 3, dateDone: new Date(), name: 'ignored', worker: 'ignored' }));
    } finally {
      await plain.close();
    }
    expect(await backend.getResult(taskId)).toMatchObject({ status: 'SUCCESS', result: 3, name: 'proto.add', args: [1, 2], worker: 'w1' });
  });

  it('does not use a sequence value for updates, so Celery ids last', async () => {
    const taskId = newTaskId('sequence');
    await backend.storeResult(meta(taskId, { status: TaskState.STARTED }));
    const [{ before }] = await querySql(database.url, `SELECT last_value AS before FROM task_id_sequence`);
    await backend.storeResult(meta(taskId, { status: TaskState.SUCCESS, result: 2, dateDone: new Date() }));
    const [{ after }] = await querySql(database.url, `SELECT last_value AS after FROM task_id_sequence`);
    expect(after).toBe(before);
  });

  it('handles concurrent first stores of the same task id', async () => {
    const taskId = newTaskId('race');
    await Promise.all(
      Array.from({ length: 20 }, (_, index) => backend.storeResult(meta(taskId, { status: TaskState.STARTED, result: index }))),
    );
    const [{ count }] = await querySql(database.url, 'SELECT count(*)::int AS count FROM celery_taskmeta WHERE task_id = $1', [taskId]);
    expect(count).toBe(1);
  });

  it('keeps result_json NULL for values JSON cannot hold, and clears it when Python rewrites the result', async () => {
    const taskId = newTaskId('json');
    await backend.storeResult(meta(taskId, { result: Buffer.from([1, 2, 3]), dateDone: new Date() }));
    expect((await rawRow(database.url, taskId))!.result_json).toBeNull();
    expect((await backend.getResult(taskId))!.result).toEqual(Buffer.from([1, 2, 3]));

    await backend.storeResult(meta(taskId, { result: { ok: true }, dateDone: new Date() }));
    expect((await rawRow(database.url, taskId))!.result_json).toEqual({ ok: true });
    // What Python's UPDATE does: only Celery's columns (here `5`, pickled by Python).
    await querySql(database.url, `UPDATE celery_taskmeta SET result = '\\x80054b052e'::bytea WHERE task_id = $1`, [taskId]);
    expect((await rawRow(database.url, taskId))!.result_json).toBeNull();
    expect((await backend.getResult(taskId))!.result).toBe(5);
  });

  it('round-trips awkward values through the JSON row parameter, in one batch, byte for byte', async () => {
    // Quotes, backslashes, what looks like escapes and bytea hex, unicode (astral too), a lone
    // surrogate (stored as U+FFFD, as node-postgres writes it), big bytes, NULLs, next to plain rows.
    const awkward = 'q"uo\'te \\ back\\slash \\x41 \\u0041 {a,"b"} NULL é ✓ 😀 \t\n';
    const big = Buffer.alloc(300_000, 0xab);
    const cases: { taskId: string; meta: Partial<TaskResultMeta> }[] = [
      { taskId: newTaskId('awkward-text'), meta: { result: awkward, traceback: awkward, name: `n${awkward}`.slice(0, 150), args: [awkward, '\u0000'], kwargs: { [awkward]: '\ud800' }, worker: awkward, queue: awkward } },
      { taskId: newTaskId('awkward-bytes'), meta: { result: big, args: [], kwargs: {} } },
      { taskId: newTaskId('awkward-nulls'), meta: { result: null, traceback: null, name: null, args: null, kwargs: null, worker: null, retries: null, queue: null } },
      { taskId: `${newTaskId('awkward-id')}-"\\'`, meta: { result: { k: [1, null, 'v'] }, retries: 2 ** 31 - 1 } },
      { taskId: newTaskId('lone-surrogate'), meta: { traceback: 'bad \ud800 end', result: 'fine' } },
    ];
    await Promise.all(cases.map(({ taskId, meta: overrides }) => backend.storeResult(meta(taskId, { dateDone: new Date(), ...overrides }))));

    for (const { taskId, meta: overrides } of cases.slice(0, 4)) {
      const stored = await backend.getResult(taskId);
      expect(stored).toMatchObject({ taskId, status: 'SUCCESS', ...overrides });
    }
    const [text, bytes, nulls] = await Promise.all(cases.slice(0, 3).map(({ taskId }) => rawRow(database.url, taskId)));
    // args/kwargs hold exactly the JSON text Python's json.dumps writes (non-ASCII escaped).
    expect(text!.args).toEqual(Buffer.from(toPythonJson([awkward, '\u0000']), 'ascii'));
    expect(text!.kwargs).toEqual(Buffer.from('{"q\\"uo\'te \\\\ back\\\\slash \\\\x41 \\\\u0041 {a,\\"b\\"} NULL \\u00e9 \\u2713 \\ud83d\\ude00 \\t\\n": "\\ud800"}', 'ascii'));
    expect(text!.result_json).toBe(awkward);
    expect(text!.traceback).toBe(awkward);
    expect(decodePickle(bytes!.result)).toEqual(big);
    expect(nulls).toMatchObject({ result: null, traceback: null, name: null, args: null, kwargs: null, worker: null, retries: null, queue: null, result_json: null });
    expect((await rawRow(database.url, cases[4].taskId))!.traceback).toBe('bad \ufffd end');
  });

  it('plans a batch with index probes of celery_taskmeta, not a scan of it, on a table of 20,000 rows', async () => {
    // json_to_recordset alone is estimated at 100 rows; at this size the planner then hash-joined
    // a sequential scan of the whole table on every batch. LIMIT cardinality($2) gives it the count.
    const planDatabase = await createTestDatabase('db_store_plan');
    const planBackend = new DatabaseResultBackend({ url: planDatabase.url, resultExpiresSeconds: null });
    try {
      await planBackend.connect();
      await querySql(
        planDatabase.url,
        `INSERT INTO celery_taskmeta (id, task_id, status, date_done)
         SELECT nextval('task_id_sequence'), 'seeded-' || n, 'SUCCESS', now() FROM generate_series(1, 20000) AS n`,
      );
      await querySql(planDatabase.url, 'ANALYZE celery_taskmeta');
      const rows = Array.from({ length: 40 }, (_, index) => toStoreRow(meta(`planned-${index}`, { dateDone: new Date(), args: [index], kwargs: {} }), true));
      const plan = await querySql(planDatabase.url, `EXPLAIN ${buildStoreResultsSql(true)}`, [toRowsParameter(rows), rows.map(() => 0)]);
      const text = plan.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toContain('Index Scan using celery_taskmeta_task_id_key');
      expect(text).not.toContain('Seq Scan on celery_taskmeta');
    } finally {
      await planBackend.close();
      await planDatabase.drop();
    }
  });

  it('stores null results as SQL NULL and reads an unknown task as null (PENDING)', async () => {
    const taskId = newTaskId('null');
    await backend.storeResult(meta(taskId, { result: undefined, dateDone: new Date() }));
    expect((await rawRow(database.url, taskId))!.result).toBeNull();
    expect((await backend.getResult(taskId))!.result).toBeNull();
    expect(await backend.getResult(newTaskId('unknown'))).toBeNull();
  });

  it('refuses a result it cannot pickle, and stores nothing', async () => {
    const taskId = newTaskId('unpicklable');
    const error = await backend.storeResult(meta(taskId, { result: { f: () => 1 } })).catch((caught) => caught);
    expect(error).toBeInstanceOf(ResultEncodeError);
    expect(error.message).toContain(taskId);
    expect(await backend.getResult(taskId)).toBeNull();
  });

  it('throws ResultStoreError at once, without retrying, when the database refuses the values', async () => {
    const taskId = newTaskId('too-long');
    const started = Date.now();
    const error = await backend.storeResult(meta(taskId, { name: 'x'.repeat(200) })).catch((caught) => caught);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(ResultStoreError);
    expect(error.message).toMatch(/value too long.*The state was not stored\. The database refused the values/);
  });

  it('throws when used before connect()', async () => {
    const unconnected = new DatabaseResultBackend({ url: database.url });
    await expect(unconnected.storeResult(meta(newTaskId('early'), {}))).rejects.toThrow('is not connected. Call connect()');
  });

  it('throws ResultDecodeError naming the task when a stored pickle is not readable', async () => {
    const taskId = newTaskId('undecodable');
    // A pickle naming os.system: a global that must never be resolved.
    await querySql(
      database.url,
      `INSERT INTO celery_taskmeta (id, task_id, status, result) VALUES (nextval('task_id_sequence'), $1, 'SUCCESS', $2)`,
      [taskId, Buffer.concat([Buffer.from([0x80, 0x03]), Buffer.from('cos\nsystem\n.', 'latin1')])],
    );
    const error = await backend.getResult(taskId).catch((caught) => caught);
    expect(error).toBeInstanceOf(ResultDecodeError);
    expect(error.message).toContain(taskId);
    expect(error.message).toMatch(/return plain values/);
  });

  it('forgets a result', async () => {
    const taskId = newTaskId('forget');
    await backend.storeResult(meta(taskId, { result: 1, dateDone: new Date() }));
    await backend.forget(taskId);
    expect(await backend.getResult(taskId)).toBeNull();
  });

  it('deletes expired ready results (and groups) in batches, never unready ones', async () => {
    const old = new Date('2020-01-01T00:00:00Z');
    const oldIds = Array.from({ length: 3 }, () => newTaskId('expired'));
    for (const taskId of oldIds) await backend.storeResult(meta(taskId, { result: 1, dateDone: old }));
    const fresh = newTaskId('fresh');
    await backend.storeResult(meta(fresh, { result: 1, dateDone: new Date() }));
    const running = newTaskId('running');
    await backend.storeResult(meta(running, { status: TaskState.STARTED }));
    const groupId = newTaskId('old-group');
    await backend.saveGroup(groupId, ['a']);
    await querySql(database.url, `UPDATE celery_tasksetmeta SET date_done = '2020-01-01' WHERE taskset_id = $1`, [groupId]);

    const deleted = await backend.deleteExpired(new Date('2021-01-01T00:00:00Z'));

    expect(deleted).toBeGreaterThanOrEqual(4);
    for (const taskId of oldIds) expect(await backend.getResult(taskId)).toBeNull();
    expect(await backend.getGroup(groupId)).toBeNull();
    expect(await backend.getResult(fresh)).not.toBeNull();
    expect(await backend.getResult(running)).not.toBeNull();
  });

  it('waitForResult resolves when another connection writes the result', async () => {
    const taskId = newTaskId('wait');
    const writer = new DatabaseResultBackend({ url: database.url, migrationsRun: false, resultExpiresSeconds: 0 });
    await writer.connect();
    try {
      const waiting = backend.waitForResult(taskId, { timeout: 10_000 });
      await writer.storeResult(meta(taskId, { status: TaskState.STARTED }));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const started = Date.now();
      await writer.storeResult(meta(taskId, { result: 'done', dateDone: new Date() }));
      const result = await waiting;
      expect(result).toMatchObject({ status: 'SUCCESS', result: 'done' });
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await writer.close();
    }
  });

  it('waitForResult times out with the last state in the message', async () => {
    const taskId = newTaskId('timeout');
    const error = await backend.waitForResult(taskId, { timeout: 120 }).catch((caught) => caught);
    expect(error).toBeInstanceOf(ResultTimeoutError);
    expect(error.message).toBe(
      `The result of task ${taskId} was not ready within 120 ms (state: PENDING). Expected a ready state ` +
        "(SUCCESS, FAILURE or REVOKED). Check that a worker consumes the task's queue and stores results " +
        'in the same backend, or wait longer.',
    );
    await backend.storeResult(meta(taskId, { status: TaskState.RETRY }));
    const retrying = await backend.waitForResult(taskId, { timeout: 30 }).catch((caught) => caught);
    expect(retrying.message).toContain('(state: RETRY)');
  });

  it('waitForResult stops when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const waiting = backend.waitForResult(newTaskId('abort'), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 20);
    await expect(waiting).rejects.toThrow('caller gave up');
  });

  it('saves and reads a group', async () => {
    const groupId = newTaskId('group');
    await backend.saveGroup(groupId, ['c1', 'c2']);
    const group = await backend.getGroup(groupId);
    expect(group).toMatchObject({ groupId, childIds: ['c1', 'c2'] });
    expect(group!.dateDone).toBeInstanceOf(Date);
    expect(await backend.getGroup(newTaskId('no-group'))).toBeNull();
    await backend.forgetGroup(groupId);
    expect(await backend.getGroup(groupId)).toBeNull();
  });

  it('runs the migration again without changes, and TypeORM synchronize finds nothing to do', async () => {
    const dataSource = new DataSource({
      type: 'postgres',
      url: database.url,
      entities: celeryResultEntities,
      migrations: celeryResultMigrations,
    });
    await dataSource.initialize();
    try {
      const runner = dataSource.createQueryRunner();
      try {
        await new celeryResultMigrations[0]().up(runner);
        await new celeryResultMigrations[0]().up(runner);
      } finally {
        await runner.release();
      }
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('uses the application DataSource, and says what to add when our entities are missing', async () => {
    const withoutEntities = new DataSource({ type: 'postgres', url: database.url });
    const refused = new DatabaseResultBackend({ dataSource: withoutEntities });
    const error = await refused.connect().catch((caught) => caught);
    expect(error).toBeInstanceOf(ResultBackendConfigurationError);
    expect(error.message).toContain('celeryResultEntities');
    expect(error.message).toContain('docs/MIGRATIONS.md');
    await withoutEntities.destroy();

    const appDataSource = new DataSource({ type: 'postgres', url: database.url, entities: [...celeryResultEntities] });
    await appDataSource.initialize();
    const shared = new DatabaseResultBackend({ dataSource: appDataSource });
    await shared.connect();
    const taskId = newTaskId('app-data-source');
    await shared.storeResult(meta(taskId, { result: 'shared', dateDone: new Date() }));
    expect((await backend.getResult(taskId))!.result).toBe('shared');
    await shared.close();
    expect(appDataSource.isInitialized).toBe(true); // not ours to close
    await appDataSource.destroy();
  });

  it('fails connect() clearly on a database without the tables when migrations are off', async () => {
    const empty = await createTestDatabase('db_result_backend_empty');
    try {
      const unmigrated = new DatabaseResultBackend({ url: empty.url, migrationsRun: false });
      const error = await unmigrated.connect().catch((caught) => caught);
      expect(error).toBeInstanceOf(ResultBackendConfigurationError);
      expect(error.message).toMatch(/missing table celery_taskmeta.*Run them/);
      await unmigrated.close();

      const synchronized = new DatabaseResultBackend({ url: empty.url, migrationsRun: false, synchronize: true });
      await synchronized.connect();
      const taskId = newTaskId('synchronized');
      await synchronized.storeResult(meta(taskId, { result: pythonTuple([1, 2]), dateDone: new Date() }));
      expect((await synchronized.getResult(taskId))!.result).toEqual([1, 2]);
      await synchronized.close();
    } finally {
      await empty.drop();
    }
  });

  it('prepares a fresh database from several backends connecting at the same moment (workers starting together)', async () => {
    const fresh = await createTestDatabase('db_result_backend_race');
    const backends = Array.from({ length: 6 }, () => new DatabaseResultBackend({ url: fresh.url }));
    try {
      // The run as a whole, creating celery_migrations included, is serialised on one advisory lock.
      const outcomes = await Promise.allSettled(backends.map((each) => each.connect()));
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      const recorded = await querySql(fresh.url, 'SELECT name, count(*)::int AS times FROM celery_migrations GROUP BY name ORDER BY name');
      expect(recorded).toEqual(celeryResultMigrations.map((Migration) => ({ name: new Migration().name, times: 1 })).sort((a, b) => a.name!.localeCompare(b.name!)));
      const taskId = newTaskId('race');
      await backends[0].storeResult(meta(taskId, { result: 'ready', dateDone: new Date() }));
      expect((await backends[5].getResult(taskId))!.result).toBe('ready');
    } finally {
      for (const each of backends) await each.close();
      await fresh.drop();
    }
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { celeryResultEntities } from '../../lib/backend/database/entities';
import { pythonTuple } from '../../lib/protocol/pickle';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { loadFixture } from '../support/fixtures';
import { createTestDatabase, TestDatabase, querySql } from '../support/postgres';
import { CELERY_PEER, celeryDatabaseUrl, PYTHON, pythonEnvironment } from '../support/python-celery';

const SCRIPT = join(__dirname, 'python', 'celery_db_backend.py');
const FAILURE_FIXTURE_HEX: string = loadFixture('db_row_failure').row.result.hex;
const EXTENDED_COLUMNS = ['name', 'args', 'kwargs', 'worker', 'retries', 'queue'];

/** Runs Python Celery 5.2.6's own database backend against the test database (see the script). */
function pythonCelery(database: TestDatabase, extended: boolean, command: string, argument: object = {}): Promise<any> {
  const args = [SCRIPT, celeryDatabaseUrl(database.url), extended ? '1' : '0', command, JSON.stringify(argument)];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: 60_000, env: pythonEnvironment() }, (error, stdout, stderr) => {
      if (error) reject(new Error(`Python Celery failed on ${command}: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}


async function columnsOf(url: string, table: string): Promise<string[]> {
  const rows = await querySql(url, `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table]);
  return rows.map((row) => row.column_name);
}

function meta(taskId: string, overrides: Partial<TaskResultMeta>): TaskResultMeta {
  return { taskId, status: TaskState.SUCCESS, result: null, traceback: null, children: [], dateDone: new Date(), ...overrides };
}

describe(`DatabaseResultBackend with ${CELERY_PEER.name} on the same tables`, () => {
  let database: TestDatabase;
  let backend: DatabaseResultBackend;

  beforeAll(async () => {
    database = await createTestDatabase('db_result_python');
    // Python goes first: its SQLAlchemy backend creates the tables (result_extended=False) and stores rows.
    await pythonCelery(database, false, 'store-success', {
      task_id: 'py-success',
      value: { args: { __tuple__: [1, 'x'] }, kwargs: { k: { n: [1, 2] } }, big: { __int__: String(2n ** 70n) } },
    });
    await pythonCelery(database, false, 'store-failure', { task_id: 'py-failure', message: 'boom' });
    await pythonCelery(database, false, 'save-group', { group_id: 'py-group', child_ids: ['py-success', 'py-failure'] });
    backend = new DatabaseResultBackend({ url: database.url });
    await backend.connect(); // runs our migrations on Python's tables
  }, 120_000);

  afterAll(async () => {
    await backend?.close();
    await database?.drop();
  });

  it('completes the tables Python created and leaves TypeORM synchronize nothing to do', async () => {
    expect(await columnsOf(database.url, 'celery_taskmeta')).toEqual([
      'id', 'task_id', 'status', 'result', 'date_done', 'traceback', ...EXTENDED_COLUMNS, 'result_json',
    ]);
    const dataSource = new DataSource({ type: 'postgres', url: database.url, entities: celeryResultEntities });
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it("reads Python's SUCCESS row: tuples as arrays, big integers as bigint", async () => {
    const stored = await backend.getResult('py-success');
    expect(stored).toMatchObject({
      status: 'SUCCESS',
      result: { args: [1, 'x'], kwargs: { k: { n: [1, 2] } }, big: 2n ** 70n },
      traceback: null,
    });
    expect(stored!.dateDone).toBeInstanceOf(Date);
    expect(Math.abs(stored!.dateDone!.getTime() - Date.now())).toBeLessThan(120_000); // naive UTC read as UTC
  });

  it("reads Python's FAILURE row as an ExceptionInfo with its traceback", async () => {
    const stored = await backend.getResult('py-failure');
    expect(stored).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
    });
    expect(stored!.traceback).toContain('ValueError: boom');
  });

  it("reads Python's saved group (its pickled backend and URL are dropped)", async () => {
    expect(await backend.getGroup('py-group')).toMatchObject({ groupId: 'py-group', childIds: ['py-success', 'py-failure'] });
  });

  it('writes a SUCCESS that Python reads with tuples, big integers and nested values intact', async () => {
    await backend.storeResult(
      meta('ts-success', { result: { a: [1, 2.5, 'x', null, true], big: 2n ** 70n, t: pythonTuple([1, 'two']), text: 'héllo ✓' } }),
    );
    const read = await pythonCelery(database, false, 'read', { task_id: 'ts-success' });
    expect(read.state).toBe('SUCCESS');
    expect(read.get).toBe(`{'a': [1, 2.5, 'x', None, True], 'big': 1180591620717411303424, 't': (1, 'two'), 'text': 'héllo ✓'}`);
  });

  it('writes a FAILURE that Python re-raises as ValueError, pickled to the same value as the capture', async () => {
    await backend.storeResult(
      meta('ts-failure', {
        status: TaskState.FAILURE,
        result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
        traceback: 'Error: boom\n    at task (tasks.ts:1:1)',
      }),
    );
    const read = await pythonCelery(database, false, 'read', { task_id: 'ts-failure' });
    expect(read).toMatchObject({ state: 'FAILURE', raised_type: 'builtins.ValueError', raised_repr: "ValueError('boom')" });
    // Our codec writes protocol 3; re-pickled by Python with protocol 5 the value gives exactly
    // the bytes a Python worker wrote (Fx db_row_failure): same dict, same key order, a tuple.
    const repickled = await pythonCelery(database, false, 'repickle', { task_id: 'ts-failure' });
    expect(repickled.protocol5_hex).toBe(FAILURE_FIXTURE_HEX);
  });

  it('writes STARTED, RETRY and REVOKED states Python reads', async () => {
    await backend.storeResult(meta('ts-started', { status: TaskState.STARTED, result: { pid: 7, hostname: 'ts@host' }, dateDone: null }));
    expect(await pythonCelery(database, false, 'read', { task_id: 'ts-started' })).toMatchObject({
      state: 'STARTED',
      result_repr: "{'pid': 7, 'hostname': 'ts@host'}",
    });
    const retry = { exc_type: 'RuntimeError', exc_message: ['transient'], exc_module: 'builtins' };
    await backend.storeResult(meta('ts-retry', { status: TaskState.RETRY, result: retry, traceback: 'tb', dateDone: null }));
    expect(await pythonCelery(database, false, 'read', { task_id: 'ts-retry' })).toMatchObject({
      state: 'RETRY',
      result_repr: "RuntimeError('transient')",
    });
    const revoked = { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' };
    await backend.storeResult(meta('ts-revoked', { status: TaskState.REVOKED, result: revoked }));
    expect(await pythonCelery(database, false, 'read', { task_id: 'ts-revoked' })).toMatchObject({
      state: 'REVOKED',
      raised_type: 'celery.exceptions.TaskRevokedError',
      raised_repr: "TaskRevokedError('terminated')",
    });
  });

  it('writes extended columns that a Python client with result_extended reads', async () => {
    await backend.storeResult(
      meta('ts-extended', { result: 5, name: 'proto.add', args: [2, 3], kwargs: {}, worker: 'ts@host', retries: 1, queue: 'celery' }),
    );
    expect(await pythonCelery(database, true, 'read', { task_id: 'ts-extended' })).toMatchObject({
      state: 'SUCCESS',
      get: '5',
      name: 'proto.add',
      args: [2, 3],
      kwargs: {},
      worker: 'ts@host',
      retries: 1,
      queue: 'celery',
    });
  });

  it('saves a group that Python restores, with no connection string in the row', async () => {
    await backend.saveGroup('ts-group', ['ts-success', 'ts-failure']);
    expect(await pythonCelery(database, false, 'restore-group', { group_id: 'ts-group' })).toEqual({
      child_ids: ['ts-success', 'ts-failure'],
    });
    const [row] = await querySql(database.url, `SELECT result FROM celery_tasksetmeta WHERE taskset_id = 'ts-group'`);
    expect(row.result.toString('latin1')).not.toMatch(/postgres|127\.0\.0\.1/);
  });

  it('lets Python keep writing after our migration (its own columns, explicit nextval)', async () => {
    await pythonCelery(database, false, 'store-success', { task_id: 'py-after', value: [1, 2] });
    await pythonCelery(database, true, 'store-success', { task_id: 'py-after-extended', value: 'x' });
    expect((await backend.getResult('py-after'))!.result).toEqual([1, 2]);
    expect((await backend.getResult('py-after-extended'))!.result).toBe('x');
  });
});

describe('the migration on a table from a Celery without result_extended columns', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('db_result_python_old');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('adds the missing columns and keeps the rows', async () => {
    // Celery 5.2.6 always creates the extended columns (TaskExtended extends the shared table);
    // older deployments' tables lack them, which dropping them reproduces.
    await pythonCelery(database, false, 'store-success', { task_id: 'old-row', value: 5 });
    await querySql(database.url, `ALTER TABLE celery_taskmeta ${EXTENDED_COLUMNS.map((column) => `DROP COLUMN ${column}`).join(', ')}`);
    expect(await columnsOf(database.url, 'celery_taskmeta')).toEqual(['id', 'task_id', 'status', 'result', 'date_done', 'traceback']);

    const backend = new DatabaseResultBackend({ url: database.url });
    await backend.connect();
    try {
      expect(await columnsOf(database.url, 'celery_taskmeta')).toEqual([
        'id', 'task_id', 'status', 'result', 'date_done', 'traceback', ...EXTENDED_COLUMNS, 'result_json',
      ]);
      expect((await backend.getResult('old-row'))!.result).toBe(5);
      await backend.storeResult(meta('new-row', { result: 6, name: 'proto.add', args: [3, 3] }));
      expect(await pythonCelery(database, true, 'read', { task_id: 'new-row' })).toMatchObject({ get: '6', name: 'proto.add', args: [3, 3] });
    } finally {
      await backend.close();
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResultBackend } from '../../lib/backend/create-result-backend';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { ResultBackendConfigurationError } from '../../lib/errors/result-backend-configuration.error';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';

function meta(taskId: string, overrides: Partial<TaskResultMeta>): TaskResultMeta {
  return { taskId, status: TaskState.SUCCESS, result: null, traceback: null, children: [], dateDone: null, ...overrides };
}

describe('DatabaseResultBackend embedded (PGlite in this process)', () => {
  describe('in memory', () => {
    let backend: DatabaseResultBackend;

    beforeAll(async () => {
      backend = createResultBackend() as DatabaseResultBackend; // no URL: the embedded default
      await backend.connect();
    }, 60_000);

    afterAll(async () => {
      await backend?.close();
    });

    it('describes itself without a URL', () => {
      expect(backend).toBeInstanceOf(DatabaseResultBackend);
      expect(backend.description).toBe('PGlite in memory');
    });

    it('stores and reads SUCCESS, FAILURE and STARTED', async () => {
      const value = { list: [1, 'two', null], nested: { ok: true }, big: 2n ** 64n };
      const dateDone = new Date('2026-11-24T08:36:00.388Z');
      await backend.storeResult(meta('e-success', { result: value, dateDone, name: 'proto.echo', args: [1], kwargs: { k: 'v' } }));
      expect(await backend.getResult('e-success')).toMatchObject({
        status: 'SUCCESS',
        result: value,
        dateDone,
        name: 'proto.echo',
        args: [1],
        kwargs: { k: 'v' },
      });

      const failure = { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' };
      await backend.storeResult(meta('e-failure', { status: TaskState.FAILURE, result: failure, traceback: 'tb', dateDone }));
      expect(await backend.getResult('e-failure')).toMatchObject({ status: 'FAILURE', result: failure, traceback: 'tb' });

      await backend.storeResult(meta('e-started', { status: TaskState.STARTED, result: { pid: 1, hostname: 'h' } }));
      expect(await backend.getResult('e-started')).toMatchObject({ status: 'STARTED', result: { pid: 1, hostname: 'h' }, dateDone: null });
      expect(await backend.getResult('e-unknown')).toBeNull();
    });

    it('waitForResult resolves when another backend of the process writes (they share the database)', async () => {
      const worker = new DatabaseResultBackend({ embedded: {} });
      await worker.connect();
      try {
        const waiting = backend.waitForResult('e-wait', { timeout: 5_000 });
        setTimeout(() => void worker.storeResult(meta('e-wait', { result: 42, dateDone: new Date() })), 20);
        expect(await waiting).toMatchObject({ status: 'SUCCESS', result: 42 });
      } finally {
        await worker.close();
      }
      // The first backend still works after the second one closed.
      expect((await backend.getResult('e-wait'))!.result).toBe(42);
    });

    it('waitForResult times out', async () => {
      await expect(backend.waitForResult('e-never', { timeout: 50 })).rejects.toBeInstanceOf(ResultTimeoutError);
    });

    it('forgets, expires and keeps groups', async () => {
      await backend.storeResult(meta('e-old', { result: 1, dateDone: new Date('2020-01-01T00:00:00Z') }));
      expect(await backend.deleteExpired(new Date('2021-01-01T00:00:00Z'))).toBe(1);
      expect(await backend.getResult('e-old')).toBeNull();
      await backend.forget('e-success');
      expect(await backend.getResult('e-success')).toBeNull();
      await backend.saveGroup('e-group', ['a', 'b']);
      expect(await backend.getGroup('e-group')).toMatchObject({ childIds: ['a', 'b'] });
    });

    it('refuses a second embedded database with another dataDir while this one is open', async () => {
      const other = new DatabaseResultBackend({ embedded: { dataDir: join(tmpdir(), 'never-opened') } });
      const error = await other.connect().catch((caught) => caught);
      expect(error).toBeInstanceOf(ResultBackendConfigurationError);
      expect(error.message).toMatch(/already open.*PGlite allows one per process/);
    });
  });

  describe('with a dataDir', () => {
    let dataDir: string;

    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'celery-results-'));
    });

    afterAll(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('keeps results across restarts', async () => {
      const first = createResultBackend({ url: `embedded://${dataDir}` });
      await first.connect();
      await first.storeResult(meta('persisted', { result: 'kept', dateDone: new Date() }));
      await first.close();

      const second = new DatabaseResultBackend({ embedded: { dataDir } });
      await second.connect();
      try {
        expect((await second.getResult('persisted'))!.result).toBe('kept');
      } finally {
        await second.close();
      }
    }, 60_000);
  });
});

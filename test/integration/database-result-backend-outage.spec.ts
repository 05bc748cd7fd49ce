import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { ResultStoreError } from '../../lib/errors/result-store.error';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { CeleryLogger } from '../../lib/utils/logger';
import { createTestDatabase, POSTGRES_URL, TestDatabase } from '../support/postgres';
import { TcpFaultProxy } from '../support/tcp-fault-proxy';

const PASSWORD = 's3cret-never-logged';

function meta(taskId: string, overrides: Partial<TaskResultMeta> = {}): TaskResultMeta {
  return { taskId, status: TaskState.SUCCESS, result: taskId, traceback: null, children: [], dateDone: new Date(), ...overrides };
}

function collectingLogger(lines: string[]): CeleryLogger {
  const keep = (message: string) => void lines.push(message);
  return { log: keep, warn: keep, error: keep };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PostgreSQL "restarts" by dropping every connection through a proxy; the shared server keeps running. */
describe('DatabaseResultBackend while PostgreSQL is restarting', () => {
  let database: TestDatabase;
  let proxy: TcpFaultProxy;
  let proxiedUrl: string;
  const logLines: string[] = [];
  let backend: DatabaseResultBackend;

  beforeAll(async () => {
    database = await createTestDatabase('db_result_outage');
    const server = new URL(POSTGRES_URL);
    proxy = new TcpFaultProxy(server.hostname, Number(server.port || 5432));
    await proxy.start();
    // Trust authentication ignores the password; it is here to prove it is masked everywhere.
    proxiedUrl = `postgresql://${server.username}:${PASSWORD}@127.0.0.1:${proxy.port}/${database.name}`;
    backend = new DatabaseResultBackend({ url: proxiedUrl, storeRetryTimeoutMs: 10_000, resultExpiresSeconds: 0, logger: collectingLogger(logLines) });
    await backend.connect();
  });

  afterAll(async () => {
    await backend?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('stores a result sent while the server is down once it is back', async () => {
    await backend.storeResult(meta('before-outage'));
    await proxy.stop();
    const storing = backend.storeResult(meta('during-outage'));
    await sleep(400);
    await proxy.start();
    await storing;
    expect(await backend.getResult('during-outage')).toMatchObject({ status: 'SUCCESS', result: 'during-outage' });
    expect(logLines.some((line) => /Storing the SUCCESS state of task during-outage failed .*retry 1/.test(line))).toBe(true);
    expect(logLines.join('\n')).not.toContain(PASSWORD);
  });

  it('throws ResultStoreError, URL masked, when the server stays away longer than storeRetryTimeoutMs', async () => {
    const impatient = new DatabaseResultBackend({ url: proxiedUrl, storeRetryTimeoutMs: 300, resultExpiresSeconds: 0 });
    await impatient.connect();
    await proxy.stop();
    try {
      const started = Date.now();
      const error = await impatient.storeResult(meta('lost-if-ignored')).catch((caught) => caught);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(ResultStoreError);
      expect(error.message).toContain('task lost-if-ignored');
      expect(error.message).toContain(`:***@127.0.0.1:${proxy.port}/${database.name}`);
      expect(error.message).toContain('The state was not stored');
      expect(error.message).not.toContain(PASSWORD);
    } finally {
      await proxy.start();
      await impatient.close();
    }
  });

  it('waitForResult keeps waiting through an outage', async () => {
    const writer = new DatabaseResultBackend({ url: database.url, migrationsRun: false, resultExpiresSeconds: 0 });
    await writer.connect();
    try {
      const waiting = backend.waitForResult('waited-through-outage', { timeout: 10_000 });
      await sleep(20);
      await proxy.stop();
      await writer.storeResult(meta('waited-through-outage'));
      await sleep(300);
      await proxy.start();
      expect(await waiting).toMatchObject({ status: 'SUCCESS' });
      // Logged once per outage, not once per poll.
      expect(logLines.filter((line) => line.startsWith('Still waiting for task waited-through-outage')).length).toBe(1);
    } finally {
      await writer.close();
    }
  });
});

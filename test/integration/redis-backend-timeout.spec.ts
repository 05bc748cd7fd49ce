import { ChildProcess, spawn } from 'node:child_process';
import { RedisResultBackend } from '../../lib/backend/redis/redis-result-backend';
import { ResultStoreError } from '../../lib/errors/result-store.error';
import { TaskState } from '../../lib/protocol/task-states';
import { freeLocalPort } from '../support/redis';

/**
 * A Redis that stops answering (frozen with SIGSTOP: a stalled host, a full swap) must not hang a
 * result store for ever: ioredis holds commands through reconnects without end, so the backend
 * bounds the store and fails it with ResultStoreError (an acksLate message then goes back to its
 * queue). A private redis-server, so the shared one is never frozen.
 */
describe('Redis result backend: a store bounded in time', () => {
  let server: ChildProcess;
  let backend: RedisResultBackend;

  beforeAll(async () => {
    const port = await freeLocalPort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    backend = new RedisResultBackend({ url: `redis://127.0.0.1:${port}/0`, storeTimeoutMs: 500, connectTimeoutMs: 10_000 });
    await backend.connect();
  });

  afterAll(async () => {
    server?.kill('SIGCONT');
    await backend?.close();
    server?.kill('SIGKILL');
  });

  it('fails with ResultStoreError after storeTimeoutMs while Redis does not answer, and stores again once it does', async () => {
    const meta = (taskId: string) => ({ taskId, status: TaskState.SUCCESS, result: 1, traceback: null, children: [], dateDone: new Date() });
    await backend.storeResult(meta('before'));
    server.kill('SIGSTOP');
    const startedAt = Date.now();
    const error = await backend.storeResult(meta('frozen')).then(() => null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResultStoreError);
    expect((error as Error).message).toContain('Redis did not answer within 500 ms');
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    server.kill('SIGCONT');
    await backend.storeResult(meta('after'));
    expect((await backend.getResult('after'))?.status).toBe(TaskState.SUCCESS);
  }, 30_000);
});

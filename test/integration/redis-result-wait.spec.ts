import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisResultBackend } from '../../lib/backend/redis/redis-result-backend';
import { encodeRedisResultMeta, taskKey } from '../../lib/backend/redis/redis-result-meta';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { eventually } from '../support/celery-app';
import { freeLocalPort } from '../support/redis';

/**
 * A wait on a Redis result ends on the PUBLISH of a ready state, using the published meta (the
 * same JSON a Celery worker SETs) instead of reading the key once more. These tests PUBLISH states
 * that are never SET: a wait that reads the key sees nothing, so a wait that ends with the value
 * ended on the published meta. A private redis-server, so its command counts are ours alone.
 */
describe('Redis result backend: waits end on the published state', () => {
  let server: ChildProcess;
  let url: string;
  let backend: RedisResultBackend;
  let redis: Redis;

  beforeAll(async () => {
    const port = await freeLocalPort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}/0`;
    backend = new RedisResultBackend({ url, connectTimeoutMs: 10_000 });
    await backend.connect();
    redis = new Redis(url, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await backend?.close();
    redis?.disconnect();
    server?.kill('SIGKILL');
  });

  const meta = (taskId: string, status: string, result: unknown): TaskResultMeta => ({ taskId, status, result, traceback: null, children: [], dateDone: new Date() });
  /** PUBLISHes a state on the task's channel without storing it. */
  const publishOnly = (state: TaskResultMeta) => redis.publish(taskKey(state.taskId), encodeRedisResultMeta(state, false));
  const subscribers = async (taskId: string) => ((await redis.pubsub('NUMSUB', taskKey(taskId))) as [string, number])[1];
  const commandCalls = async (command: string) => {
    const line = ((await redis.info('commandstats')) as string).split('\r\n').find((entry) => entry.startsWith(`cmdstat_${command}:`));
    return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0);
  };

  it('ends on the PUBLISH of a ready state, with no read of the key after it', async () => {
    const id = randomUUID();
    const waiting = backend.waitForResult(id, { timeout: 10_000 });
    await eventually(async () => ((await subscribers(id)) === 1 ? true : undefined), 10_000, 'the wait to subscribe');
    const readsBefore = await commandCalls('get');
    await publishOnly(meta(id, TaskState.SUCCESS, { from: 'the payload' }));
    expect((await waiting).result).toEqual({ from: 'the payload' });
    expect(await redis.exists(taskKey(id))).toBe(0);
    // The backoff's safety-net reads may have fired meanwhile; the PUBLISH itself needs none.
    expect((await commandCalls('get')) - readsBefore).toBeLessThanOrEqual(1);
  });

  it('reads an already stored result once, beside its SUBSCRIBE', async () => {
    const id = randomUUID();
    await backend.storeResult(meta(id, TaskState.SUCCESS, 7));
    const readsBefore = await commandCalls('get');
    expect((await backend.waitForResult(id, { timeout: 10_000 })).result).toBe(7);
    expect((await commandCalls('get')) - readsBefore).toBe(1);
  });

  it('keeps waiting after a published state that is not ready (STARTED, RETRY, PROGRESS), and names it on timeout', async () => {
    const id = randomUUID();
    const timingOut = backend.waitForResult(id, { timeout: 1_000 });
    const waiting = backend.waitForResult(id, { timeout: 10_000 });
    await eventually(async () => ((await subscribers(id)) === 1 ? true : undefined), 10_000, 'the waits to subscribe');
    for (const status of [TaskState.STARTED, 'PROGRESS', TaskState.RETRY]) await publishOnly(meta(id, status, null));
    // Only the payload said RETRY: the key was never written.
    await expect(timingOut).rejects.toThrow(ResultTimeoutError);
    await expect(timingOut).rejects.toThrow('(state: RETRY)');
    await publishOnly(meta(id, TaskState.FAILURE, { exc_type: 'ValueError', exc_message: ['no'], exc_module: 'builtins' }));
    expect((await waiting).status).toBe(TaskState.FAILURE);
  });

  it('ends every wait on the task with one PUBLISH, and an aborted wait leaves the others waiting', async () => {
    const id = randomUUID();
    const controller = new AbortController();
    const aborted = backend.waitForResult(id, { signal: controller.signal });
    const waits = [backend.waitForResult(id, { timeout: 10_000 }), backend.waitForResult(id, { timeout: 10_000 })];
    await eventually(async () => ((await subscribers(id)) === 1 ? true : undefined), 10_000, 'the waits to subscribe');
    controller.abort(new Error('no longer needed'));
    await expect(aborted).rejects.toThrow('no longer needed');
    await publishOnly(meta(id, TaskState.SUCCESS, 'both'));
    expect((await Promise.all(waits)).map((state) => state.result)).toEqual(['both', 'both']);
  });

  it('reads the key when the published message is not Celery result meta', async () => {
    const id = randomUUID();
    const waiting = backend.waitForResult(id, { timeout: 10_000 });
    await eventually(async () => ((await subscribers(id)) === 1 ? true : undefined), 10_000, 'the wait to subscribe');
    await redis.set(taskKey(id), encodeRedisResultMeta(meta(id, TaskState.SUCCESS, 'stored'), false));
    await redis.publish(taskKey(id), 'not json');
    expect((await waiting).result).toBe('stored');
  });
});

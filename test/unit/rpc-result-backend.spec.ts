import { setTimeout as sleep } from 'node:timers/promises';
import { createResultBackend } from '../../lib/backend/create-result-backend';
import { decodeRpcReply } from '../../lib/backend/rpc/decode-rpc-reply';
import { encodeRpcReply } from '../../lib/backend/rpc/encode-rpc-reply';
import { LatestStateCache } from '../../lib/backend/rpc/latest-state-cache';
import { replyQueueDeclaration } from '../../lib/backend/rpc/reply-queue';
import { resolveRpcBackendOptions } from '../../lib/backend/rpc/rpc-backend-options';
import { RpcResultBackend } from '../../lib/backend/rpc/rpc-result-backend';
import { TaskChangeNotifier } from '../../lib/backend/rpc/task-change-notifier';
import type { MessageProperties } from '../../lib/broker/broker.interface';
import { MemoryBroker } from '../../lib/broker/memory/memory-broker';
import { ResultBackendConfigurationError } from '../../lib/errors/result-backend-configuration.error';
import { ResultBackendConnectionError } from '../../lib/errors/result-backend-connection.error';
import { ResultEncodeError } from '../../lib/errors/result-encode.error';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskState } from '../../lib/protocol/task-states';
import { CeleryLogger } from '../../lib/utils/logger';
import { CapturedMessage, capturedBody, capturedProperties, loadFixture } from '../support/fixtures';

const NOW = new Date('2026-11-24T08:13:01.904Z');

/** Every reply Celery 5.2.6 sent in the captures, with the task id it answers. */
function capturedReplies(): CapturedMessage[] {
  const replies: CapturedMessage[] = [];
  for (const name of ['success', 'failure', 'failure_custom_exception', 'started', 'retry', 'chain', 'revoked']) {
    const messages = loadFixture(`rpc_reply_${name}`).messages;
    replies.push(...(Array.isArray(messages) ? messages : Object.values<CapturedMessage[]>(messages).flat()));
  }
  return replies;
}

/** The meta our worker would store for a captured reply. */
function metaOf(captured: CapturedMessage): TaskResultMeta {
  const body = captured.body as Record<string, any>;
  return { taskId: body.task_id, status: body.status, result: body.result, traceback: body.traceback, children: body.children, dateDone: null };
}

function meta(taskId: string, status: string, result: unknown = null): TaskResultMeta {
  return { taskId, status, result, traceback: null, children: [], dateDone: null };
}

function recordingLogger(): CeleryLogger & { warnings: string[]; debugs: string[] } {
  const warnings: string[] = [];
  const debugs: string[] = [];
  return { warnings, debugs, log: () => undefined, warn: (text) => warnings.push(text), error: () => undefined, debug: (text) => debugs.push(text) };
}

describe('encodeRpcReply', () => {
  it.each(capturedReplies().map((reply) => [`${(reply.body as any).status} ${(reply.body as any).task_id}`, reply]))(
    'writes the reply Celery 5.2.6 sent (%s) byte for byte, with its properties',
    (_name, captured) => {
      const reply = captured as CapturedMessage;
      const correlationId = reply.properties.correlation_id;
      const message = encodeRpcReply(metaOf(reply), { replyTo: reply.routing_key, correlationId }, 1);
      expect(message.body.toString('utf8')).toBe(reply.body_raw);
      expect(message).toMatchObject({ exchange: reply.exchange, routingKey: reply.routing_key, mandatory: false });
      expect(message.properties).toEqual({
        contentType: reply.properties.content_type,
        contentEncoding: reply.properties.content_encoding,
        correlationId,
        deliveryMode: reply.properties.delivery_mode,
        priority: reply.properties.priority,
      });
    },
  );

  it('puts exception keys in Python order and leaves out what rpc replies never carry', () => {
    const message = encodeRpcReply(
      {
        ...meta('t1', TaskState.FAILURE, { exc_module: null, exc_message: ['x'], exc_type: 'Error' }),
        dateDone: NOW,
        groupId: 'g',
        parentId: 'p',
        name: 'it.fail',
        worker: 'w@h',
      },
      { replyTo: 'q', correlationId: 't1' },
      2,
    );
    expect(message.body.toString()).toBe(
      '{"task_id": "t1", "status": "FAILURE", "result": {"exc_type": "Error", "exc_message": ["x"], "exc_module": null}, "traceback": null, "children": []}',
    );
    expect(message.properties.deliveryMode).toBe(2);
  });

  it.each([
    ['a symbol', Symbol('s')],
    ['NaN', { ratio: Number.NaN }],
    ['a cycle', (() => { const cycle: Record<string, unknown> = {}; cycle.self = cycle; return cycle; })()],
  ])('refuses %s with ResultEncodeError (stored as EncodeError instead)', (_name, value) => {
    const encode = () => encodeRpcReply(meta('t2', TaskState.SUCCESS, value), { replyTo: 'q', correlationId: 't2' }, 1);
    expect(encode).toThrow(ResultEncodeError);
    expect(encode).toThrow(/The SUCCESS result of task t2 cannot be stored/);
  });
});

describe('decodeRpcReply', () => {
  it('reads every captured Celery reply back as the meta it was made from', () => {
    for (const captured of capturedReplies()) {
      const decoded = decodeRpcReply(capturedBody(captured), capturedProperties(captured), NOW);
      const ready = ['SUCCESS', 'FAILURE', 'REVOKED'].includes((captured.body as any).status);
      expect(decoded).toEqual({ ok: true, meta: { ...metaOf(captured), dateDone: ready ? NOW : null } });
    }
  });

  it("accepts the minimal reply Celery's client accepts (Fx compat_client_reads rpc.minimal_reply)", () => {
    const { published_body: body } = loadFixture('compat_client_reads').cases['rpc.minimal_reply'];
    const decoded = decodeRpcReply(Buffer.from(JSON.stringify(body)), {}, NOW);
    expect(decoded).toEqual({
      ok: true,
      meta: { taskId: body.task_id, status: 'SUCCESS', result: [1, 'a'], traceback: null, children: [], dateDone: NOW },
    });
  });

  it('names the task by correlation_id first, by task_id without one', () => {
    const body = Buffer.from('{"task_id": "from-body", "status": "STARTED", "result": null}');
    expect(decodeRpcReply(body, { correlationId: 'from-property' }, NOW)).toMatchObject({ ok: true, meta: { taskId: 'from-property', dateDone: null } });
    expect(decodeRpcReply(body, {}, NOW)).toMatchObject({ ok: true, meta: { taskId: 'from-body' } });
  });

  it('keeps integers beyond 2^53 exact', () => {
    const decoded = decodeRpcReply(Buffer.from('{"task_id": "t", "status": "SUCCESS", "result": 1180591620717411303424}'), {}, NOW);
    expect(decoded).toMatchObject({ ok: true, meta: { result: 2n ** 70n } });
  });

  it.each<[string, string, MessageProperties, RegExp]>([
    ['not JSON', 'not json', {}, /not valid JSON/],
    ['NaN (kombu writes it, JSON has no NaN)', '{"task_id": "t", "status": "SUCCESS", "result": NaN}', {}, /not valid JSON/],
    ['a list', '[1, 2]', {}, /not a JSON object/],
    ['no task named', '{"status": "SUCCESS", "result": 1}', {}, /names no task/],
    ['no status', '{"task_id": "t", "result": 1}', {}, /status is missing/],
    ['a numeric status', '{"task_id": "t", "status": 3}', {}, /status is a number/],
    ['a pickle', '\x80\x04K\x01.', { contentType: 'application/x-python-serialize' }, /result_serializer='json'/],
  ])('refuses %s with the reason', (_name, body, properties, reason) => {
    const decoded = decodeRpcReply(Buffer.from(body, 'latin1'), properties, NOW);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok === false && decoded.reason).toMatch(reason);
  });
});

describe('LatestStateCache', () => {
  it('keeps the latest state per task, dropping the least recently updated past its bound', () => {
    const cache = new LatestStateCache(2);
    cache.record(meta('a', 'STARTED'));
    cache.record(meta('b', 'STARTED'));
    cache.record(meta('a', 'SUCCESS', 1)); // a is now the most recent
    cache.record(meta('c', 'SUCCESS', 3));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toMatchObject({ status: 'SUCCESS', result: 1 });
    expect(cache.get('c')).toMatchObject({ status: 'SUCCESS' });
  });

  it('never lets a late non-ready state hide a ready one; a later ready state replaces it', () => {
    const cache = new LatestStateCache(10);
    expect(cache.record(meta('t', 'SUCCESS', 1))).toBe(true);
    expect(cache.record(meta('t', 'RETRY'))).toBe(false);
    expect(cache.get('t')).toMatchObject({ status: 'SUCCESS' });
    expect(cache.record(meta('t', 'FAILURE'))).toBe(true);
    expect(cache.get('t')).toMatchObject({ status: 'FAILURE' });
    cache.forget('t');
    expect(cache.get('t')).toBeUndefined();
  });
});

describe('TaskChangeNotifier', () => {
  it('wakes the waiters of one task only, and leaves nothing behind', async () => {
    const notifier = new TaskChangeNotifier();
    let otherWoke = false;
    const woken = notifier.waitForChange('a', 60_000);
    const other = notifier.waitForChange('b', 30).then(() => (otherWoke = true));
    notifier.notify('a');
    await woken;
    expect(otherWoke).toBe(false);
    await other; // by its timeout
    expect(notifier.waiting).toBe(0);
  });

  it("rejects with the signal's reason and removes the waiter", async () => {
    const notifier = new TaskChangeNotifier();
    const controller = new AbortController();
    const waiting = notifier.waitForChange('a', 60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(notifier.waiting).toBe(0);
  });
});

describe('resolveRpcBackendOptions', () => {
  const broker = new MemoryBroker();

  it("uses Celery's defaults: one-day x-expires, transient replies", () => {
    expect(resolveRpcBackendOptions({ broker })).toMatchObject({ replyQueueExpiresMs: 86_400_000, deliveryMode: 1, maxCachedResults: 100_000 });
    expect(resolveRpcBackendOptions({ broker, persistent: true, resultExpiresSeconds: 1.5 })).toMatchObject({ deliveryMode: 2, replyQueueExpiresMs: 1500 });
    expect(resolveRpcBackendOptions({ broker, resultExpiresSeconds: null }).replyQueueExpiresMs).toBeNull();
    expect(resolveRpcBackendOptions({ broker, resultExpiresSeconds: 0 }).replyQueueExpiresMs).toBeNull();
  });

  it('refuses what cannot work, saying what is expected', () => {
    expect(() => resolveRpcBackendOptions({})).toThrow(ResultBackendConfigurationError);
    expect(() => resolveRpcBackendOptions({})).toThrow(/got no broker.*configure `broker`/);
    expect(() => resolveRpcBackendOptions({ broker, resultExpiresSeconds: -1 })).toThrow(/Expected a number of seconds of 0 or more/);
    expect(() => resolveRpcBackendOptions({ broker, maxCachedResults: 0 })).toThrow(/Expected a positive integer/);
  });

  it('declares the reply queue as Python does, without x-expires when results never expire', () => {
    expect(replyQueueDeclaration('q', 86_400_000)).toEqual({ name: 'q', durable: false, exclusive: false, autoDelete: true, arguments: { 'x-expires': 86_400_000 } });
    expect(replyQueueDeclaration('q', null).arguments).toEqual({});
  });
});

describe('createResultBackend("rpc://")', () => {
  it('builds the rpc backend on the given broker', () => {
    const backend = createResultBackend({ url: 'rpc://', broker: new MemoryBroker() });
    expect(backend).toBeInstanceOf(RpcResultBackend);
    expect(backend.replyQueue).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(backend.description).toBe(`rpc:// on memory:// (reply queue ${backend.replyQueue})`);
  });

  it('refuses to build it without a broker', () => {
    expect(() => createResultBackend({ url: 'rpc://' })).toThrow(ResultBackendConfigurationError);
  });
});

/** The backend on the in-process broker: the same AMQP semantics, no RabbitMQ needed. */
describe('RpcResultBackend on the in-process broker', () => {
  let broker: MemoryBroker;
  let logger: ReturnType<typeof recordingLogger>;
  let backend: RpcResultBackend;

  beforeEach(async () => {
    broker = new MemoryBroker();
    logger = recordingLogger();
    backend = new RpcResultBackend({ broker, logger, maxCachedResults: 3 });
    await backend.connect();
  });

  afterEach(async () => {
    await backend.close();
    await broker.close();
  });

  /** Publishes a raw reply to our queue, as any Celery worker would. */
  async function reply(body: string, properties: MessageProperties = {}): Promise<void> {
    await broker.publish({ exchange: '', routingKey: backend.replyQueue, body: Buffer.from(body), properties: { contentType: 'application/json', ...properties } });
  }

  const route = () => ({ replyTo: backend.replyQueue, correlationId: null });

  it('buffers replies for tasks nobody asked about yet; PENDING (null) before any reply', async () => {
    expect(await backend.getResult('early')).toBeNull();
    await backend.storeResult(meta('early', TaskState.SUCCESS, 42), route());
    await sleep(10);
    expect(await backend.getResult('early')).toMatchObject({ taskId: 'early', status: 'SUCCESS', result: 42, dateDone: expect.any(Date) });
    expect(await backend.waitForResult('early', { timeout: 100 })).toMatchObject({ result: 42 });
  });

  it('wakes a waiter when the reply arrives, not at the next poll', async () => {
    const waiting = backend.waitForResult('later', { timeout: 5_000 });
    await sleep(20);
    await backend.storeResult(meta('later', TaskState.STARTED, { pid: 1, hostname: 'w@h' }), route());
    await sleep(20);
    expect(await backend.getResult('later')).toMatchObject({ status: 'STARTED', dateDone: null });
    const sentAt = Date.now();
    await backend.storeResult(meta('later', TaskState.SUCCESS, 'done'), route());
    expect(await waiting).toMatchObject({ status: 'SUCCESS', result: 'done' });
    expect(Date.now() - sentAt).toBeLessThan(200); // the safety-net re-check runs only every second
  });

  it('times out with the last state seen', async () => {
    await backend.storeResult(meta('slow', TaskState.STARTED), route());
    await expect(backend.waitForResult('slow', { timeout: 50 })).rejects.toThrow(ResultTimeoutError);
  });

  it('matches by correlation_id, and by task_id for senders that set none', async () => {
    await backend.storeResult(meta('body-id', TaskState.SUCCESS, 1), { replyTo: backend.replyQueue, correlationId: 'corr-id' });
    await reply('{"task_id": "no-correlation", "status": "SUCCESS", "result": 2}');
    await sleep(10);
    expect(await backend.getResult('corr-id')).toMatchObject({ result: 1 });
    expect(await backend.getResult('no-correlation')).toMatchObject({ result: 2 });
  });

  it('drops garbage, logging it in full once, and goes on with the next reply', async () => {
    await reply('not json', { correlationId: 'bad-1' });
    await reply('[]', { correlationId: 'bad-2' });
    await reply('{"task_id": "fine", "status": "SUCCESS", "result": 3}', { correlationId: 'fine' });
    await sleep(10);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/^Dropped a message on reply queue .* \(correlation_id bad-1\): its body is not valid JSON/);
    expect(logger.debugs.filter((line) => line.includes('bad-2'))).toHaveLength(1);
    expect(await backend.getResult('bad-1')).toBeNull();
    expect(await backend.getResult('fine')).toMatchObject({ result: 3 });
  });

  it('remembers at most maxCachedResults tasks, oldest dropped', async () => {
    for (const id of ['t1', 't2', 't3', 't4']) await backend.storeResult(meta(id, TaskState.SUCCESS, id), route());
    await sleep(10);
    expect(await backend.getResult('t1')).toBeNull();
    expect(await backend.getResult('t4')).toMatchObject({ result: 't4' });
  });

  it('sends nothing for a task without reply_to', async () => {
    await backend.storeResult(meta('no-reply', TaskState.SUCCESS, 1), { replyTo: null, correlationId: 'no-reply' });
    await backend.storeResult(meta('no-route', TaskState.SUCCESS, 1));
    await sleep(10);
    expect(await backend.getResult('no-reply')).toBeNull();
    expect(await backend.getResult('no-route')).toBeNull();
  });

  it('publishes to a reply queue that no longer exists without failing (the client has gone)', async () => {
    await expect(backend.storeResult(meta('orphan', TaskState.SUCCESS, 1), { replyTo: 'gone-client', correlationId: null })).resolves.toBeUndefined();
  });

  it('forgets a state; deletes nothing on expiry', async () => {
    await backend.storeResult(meta('f', TaskState.SUCCESS, 1), route());
    await sleep(10);
    await backend.forget('f');
    expect(await backend.getResult('f')).toBeNull();
    expect(await backend.deleteExpired(new Date())).toBe(0);
  });

  it('ends waits in progress on close, and refuses reads afterwards', async () => {
    const waiting = backend.waitForResult('never', { timeout: 60_000 });
    await backend.close();
    await expect(waiting).rejects.toThrow(ResultBackendConnectionError);
    await expect(backend.getResult('never')).rejects.toThrow(/is closed/);
    await expect(backend.connect()).rejects.toThrow(ResultBackendConnectionError);
  });

  it('refuses reads before connect()', async () => {
    const unconnected = new RpcResultBackend({ broker });
    await expect(unconnected.getResult('x')).rejects.toThrow(/Call connect\(\) before reading results/);
  });
});

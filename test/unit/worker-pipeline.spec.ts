import { randomUUID } from 'node:crypto';
import { createBroker } from '../../lib/broker/create-broker';
import type { Broker, DeliveredMessage } from '../../lib/broker/broker.interface';
import { MaxRetriesExceededError } from '../../lib/errors/max-retries-exceeded.error';
import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { decodeTaskMessage } from '../../lib/protocol/decode-task-message';
import type { TaskResultMeta } from '../../lib/protocol/result-meta';
import type { TaskMessage } from '../../lib/protocol/task-message';
import { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { createCeleryRuntime } from '../../lib/runtime/create-celery-runtime';
import { signature } from '../../lib/client/canvas/signature';
import { chain, chord } from '../../lib/client/canvas/canvas';
import type { WorkerModuleOptions } from '../../lib/worker/worker-module-options';
import type { TaskDefinition, TaskOptions } from '../../lib/task/task-definition';
import { currentTask } from '../../lib/task/task-context';
import type { TaskSignal } from '../../lib/worker/task-signals';
import type { PartialTaskMessage, WorkerMonitor } from '../../lib/worker/worker-monitor';
import { eventually } from '../support/celery-app';

/**
 * The worker's pipeline, branch by branch, on the in-memory broker and result backend (no server
 * needed, a few seconds in all): every way a delivery can end goes through the one settlement
 * (lib/worker/settlement.ts) — stored, workflow continued, monitors and signal handlers told, acked or
 * rejected. Built by the real composition root (createCeleryRuntime), as every host builds it.
 */

/** A task whose code is `run`; arguments must number `arity` when given (else TaskArgumentsError, as Python's TypeError). */
function task(name: string, run: (...args: any[]) => unknown, options: TaskOptions = {}, arity?: number): TaskDefinition {
  return {
    name,
    options,
    source: `test ${name}`,
    prepare(args) {
      if (arity !== undefined && args.length !== arity) throw new TaskArgumentsError(name, `takes ${arity} positional arguments but ${args.length} were given`);
      return () => run(...args);
    },
  };
}

/** What the worker's monitors (events, metrics, logs) were told, in order. */
class RecordingMonitor implements WorkerMonitor {
  readonly told: string[] = [];
  taskReceived(message: TaskMessage): void {
    this.told.push(`received ${message.id}`);
  }
  taskStarted(message: TaskMessage): void {
    this.told.push(`started ${message.id}`);
  }
  taskSucceeded(message: TaskMessage): void {
    this.told.push(`succeeded ${message.id}`);
  }
  taskFailed(message: PartialTaskMessage, error: unknown): void {
    this.told.push(`failed ${message.id} ${(error as Error)?.name}`);
  }
  taskRetried(message: TaskMessage): void {
    this.told.push(`retried ${message.id}`);
  }
  taskRevoked(message: TaskMessage, reason: string): void {
    this.told.push(`revoked ${message.id} ${reason}`);
  }
  taskRejected(message: PartialTaskMessage | null, requeue: boolean): void {
    this.told.push(`rejected ${message?.id ?? '?'} requeue=${requeue}`);
  }
  about(id: string): string[] {
    return this.told.filter((line) => line.includes(` ${id}`)).map((line) => line.split(' ')[0] + line.slice(line.indexOf(id) + id.length));
  }
}

interface Harness {
  runtime: CeleryRuntime;
  monitor: RecordingMonitor;
  signals: TaskSignal[];
  logs: string[];
  brokerUrl: string;
  queue: string;
  /** A raw broker on the same memory:// URL, for messages the client would not send. */
  raw: Broker;
  stored(taskId: string): Promise<TaskResultMeta | null>;
  waitForState(taskId: string, state: string): Promise<TaskResultMeta>;
}

const harnesses: Harness[] = [];

async function startWorker(tasks: TaskDefinition[], worker: WorkerModuleOptions = {}, queues: Record<string, object> = {}): Promise<Harness> {
  const id = randomUUID();
  const brokerUrl = `memory://pipeline-${id}`;
  const queue = 'work';
  const logs: string[] = [];
  const logger = {
    log: (line: string) => logs.push(`log ${line}`),
    warn: (line: string) => logs.push(`warn ${line}`),
    error: (line: string) => logs.push(`error ${line}`),
  };
  const runtime = await createCeleryRuntime(
    {
      broker: brokerUrl,
      backend: `memory://results-${id}`,
      defaultQueue: queue,
      queues: { [queue]: { deadLetterExchange: 'dead', deadLetterRoutingKey: 'dead' }, ...queues },
      worker: { concurrency: 4, hostname: `pipeline-${id}@%h`, exitOnRemoteShutdown: false, ...worker },
    },
    { logger, tasks },
  );
  const monitor = new RecordingMonitor();
  runtime.parts.worker!.addMonitor(monitor);
  const signals: TaskSignal[] = [];
  for (const name of ['prerun', 'success', 'failure', 'retry', 'revoked', 'postrun'] as const) runtime.parts.signals.on(name, (signal) => void signals.push(signal));
  const raw = createBroker(brokerUrl);
  await raw.declareExchange({ name: 'dead', type: 'direct', durable: true });
  await raw.declareQueue({ name: 'dead', durable: true, exclusive: false, autoDelete: false, arguments: {}, exchange: { name: 'dead', type: 'direct', durable: true }, routingKey: 'dead' });
  await runtime.start();
  const backend = runtime.parts.backend;
  const harness: Harness = {
    runtime,
    monitor,
    signals,
    logs,
    brokerUrl,
    queue,
    raw,
    stored: (taskId) => backend.getResult(taskId),
    waitForState: (taskId, state) =>
      eventually(async () => {
        const meta = await backend.getResult(taskId);
        return meta?.status === state ? meta : undefined;
      }, 5_000, `${taskId} to be ${state}`),
  };
  harnesses.push(harness);
  return harness;
}

afterEach(async () => {
  for (const harness of harnesses.splice(0)) {
    await harness.runtime.close();
    await harness.raw.close();
  }
});

/** Messages dead-lettered from the task queue (a rejected refusal lands here). */
async function deadLetters(harness: Harness, count: number): Promise<TaskMessage[]> {
  const received: TaskMessage[] = [];
  const consumer = await harness.raw.consume({
    queues: [{ name: 'dead', durable: true, exclusive: false, autoDelete: false, arguments: {} }],
    prefetch: 0,
    onMessage: (delivery: DeliveredMessage) => {
      delivery.ack();
      received.push(decodeTaskMessage(delivery.body, delivery.properties));
    },
  });
  try {
    return await eventually(() => (received.length >= count ? received : undefined), 5_000, `${count} dead letter(s)`);
  } finally {
    await consumer.cancel();
  }
}

function signalsOf(harness: Harness, taskId: string): string[] {
  return harness.signals.filter((signal) => signal.task.id === taskId).map((signal) => (signal.signal === 'postrun' ? `postrun ${signal.state}` : signal.signal));
}

describe('the worker pipeline settles every outcome in one place', () => {
  it('success: SUCCESS stored, monitors and signal handlers told in order, message acked', async () => {
    const harness = await startWorker([task('t.add', (x: number, y: number) => x + y)]);
    const result = await harness.runtime.parts.client.send('t.add', [2, 3]);
    expect(await result.get({ timeout: 5_000 })).toBe(5);
    await eventually(() => (signalsOf(harness, result.id).includes('postrun SUCCESS') ? true : undefined));
    expect(harness.monitor.about(result.id)).toEqual(['received', 'started', 'succeeded']);
    expect(signalsOf(harness, result.id)).toEqual(['prerun', 'success', 'postrun SUCCESS']);
    expect(await harness.raw.queueDepth(harness.queue)).toBe(0);
  });

  it("ignore_result from the message: nothing stored on success, and the retry of such a task keeps it", async () => {
    let tries = 0;
    const harness = await startWorker([
      task('t.quiet', () => {
        tries += 1;
        if (tries === 1) currentTask().retry({ countdown: 0 });
        return 'done';
      }),
    ]);
    const result = await harness.runtime.parts.client.send('t.quiet', [], { ignoreResult: true, headers: { 'x-tenant': 'acme' } });
    await eventually(() => (tries === 2 && signalsOf(harness, result.id).includes('postrun SUCCESS') ? true : undefined));
    // RETRY was stored before the next try; the SUCCESS of the ignore_result retry was not.
    expect((await harness.stored(result.id))?.status).toBe('RETRY');
    expect(harness.signals.filter((signal) => signal.signal === 'prerun').map((signal) => signal.task.headers['x-tenant'])).toEqual(['acme', 'acme']);
  });

  it('failure: FAILURE stored with the exception, errbacks sent, the chain\'s remaining steps stored FAILURE', async () => {
    const errbackArgs: unknown[] = [];
    const harness = await startWorker([
      task('t.fail', () => {
        throw new RangeError('out of range');
      }),
      task('t.never', () => 'never'),
      task('t.errback', (failedId: string) => void errbackArgs.push(failedId)),
    ]);
    const client = harness.runtime.parts.client;
    const workflow = chain(client.signature('t.fail', [], {}, { linkError: signature('t.errback') }), signature('t.never'), signature('t.never'));
    const last = await workflow.applyAsync();
    const first = (last.parent as unknown as { parent: { id: string } }).parent.id;
    const failure = await harness.waitForState(first, 'FAILURE');
    expect(failure.result).toMatchObject({ exc_message: ['out of range'] });
    expect(failure.traceback).toMatch(/RangeError: out of range/);
    await harness.waitForState(last.parent!.id, 'FAILURE');
    await harness.waitForState(last.id, 'FAILURE');
    await eventually(() => (errbackArgs.length === 1 ? true : undefined));
    expect(errbackArgs).toEqual([first]);
    expect(harness.monitor.about(first)).toEqual(['received', 'started', 'failed RangeError']);
    await eventually(() => (signalsOf(harness, first).includes('postrun FAILURE') ? true : undefined));
    expect(signalsOf(harness, first)).toEqual(['prerun', 'failure', 'postrun FAILURE']);
    expect(harness.logs).toContainEqual(expect.stringMatching(new RegExp(`^error Task t.fail\\[${first}\\] raised: RangeError: out of range`)));
  });

  it('refused (unknown task): FAILURE NotRegistered stored, errback sent, chord counted, message dead-lettered', async () => {
    const errbackArgs: unknown[] = [];
    const bodies: unknown[] = [];
    const harness = await startWorker([
      task('t.ok', () => 'ok'),
      task('t.errback', (failedId: string) => void errbackArgs.push(failedId)),
      task('t.body', (results: unknown) => void bodies.push(results)),
    ]);
    const client = harness.runtime.parts.client;
    const orphan = await client.send('t.nobody-has-this', [], { linkError: signature('t.errback') });
    const meta = await harness.waitForState(orphan.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'NotRegistered', exc_module: 'celery.exceptions' });
    await eventually(() => (errbackArgs.length === 1 ? true : undefined));
    expect(errbackArgs).toEqual([orphan.id]);
    const [dead] = await deadLetters(harness, 1);
    expect(dead.id).toBe(orphan.id);
    expect(harness.monitor.about(orphan.id)).toEqual(['failed NotRegisteredError', 'rejected requeue=false']);

    // A chord whose header has an unknown task completes (with ChordError) instead of waiting for ever.
    const body = await chord([client.signature('t.ok'), signature('t.unknown-in-header')], signature('t.body')).applyAsync();
    const bodyMeta = await harness.waitForState(body.id, 'FAILURE');
    expect(bodyMeta.result).toMatchObject({ exc_type: 'ChordError' });
    expect(bodies).toEqual([]);
  });

  it('refused (arguments that do not fit): FAILURE stored, the failure signal sent, message dead-lettered, never run', async () => {
    let runs = 0;
    const harness = await startWorker([task('t.pair', () => void (runs += 1), {}, 2)]);
    const result = await harness.runtime.parts.client.send('t.pair', [1]);
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_message: [expect.stringContaining('takes 2 positional arguments but 1 were given')] });
    await deadLetters(harness, 1);
    expect(runs).toBe(0);
    expect(signalsOf(harness, result.id)).toEqual(['failure']);
    expect(harness.monitor.about(result.id)).toEqual(['received', 'failed TaskArgumentsError', 'rejected requeue=false']);
  });

  it('an unreadable message is rejected (dead-lettered) with one log line, and nothing is stored', async () => {
    const harness = await startWorker([task('t.ok', () => 'ok')]);
    await harness.raw.publish({ exchange: '', routingKey: harness.queue, body: Buffer.from('not json'), properties: { contentType: 'application/json', headers: {} } });
    const consumer = await eventually(async () => ((await harness.raw.queueDepth('dead')) === 1 ? true : undefined), 5_000, 'the dead letter');
    expect(consumer).toBe(true);
    expect(harness.logs.filter((line) => line.startsWith('error Rejected task message'))).toHaveLength(1);
    expect(harness.monitor.told).toEqual(['rejected ? requeue=false']);
  });

  it('retry: RETRY stored, republished with retries + 1 and the producer\'s headers; retries used up end in FAILURE', async () => {
    const seen: { retries: number; tenant: unknown }[] = [];
    const harness = await startWorker([
      task(
        't.flaky',
        () => {
          const { retries, headers } = currentTask();
          seen.push({ retries, tenant: headers['x-tenant'] });
          currentTask().retry({ countdown: 0, error: new Error('not yet') });
        },
        { maxRetries: 2 },
      ),
    ]);
    const result = await harness.runtime.parts.client.send('t.flaky', [], { headers: { 'x-tenant': 'acme' } });
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(seen).toEqual([0, 1, 2].map((retries) => ({ retries, tenant: 'acme' })));
    expect(meta.result).toMatchObject({ exc_type: 'MaxRetriesExceededError' });
    expect(harness.monitor.about(result.id)).toEqual(['received', 'started', 'retried', 'received', 'started', 'retried', 'received', 'started', 'failed MaxRetriesExceededError']);
    expect(MaxRetriesExceededError).toBeDefined();
  });

  it('a retry that cannot be republished is a FAILURE everywhere: stored, errbacks sent, monitors and signal handlers told FAILURE', async () => {
    const errbackArgs: unknown[] = [];
    const harness = await startWorker([
      task('t.bounce', () => currentTask().retry({ countdown: 0, queue: 'no-such-queue' })),
      task('t.errback', (failedId: string) => void errbackArgs.push(failedId)),
    ]);
    const result = await harness.runtime.parts.client.send('t.bounce', [], { linkError: signature('t.errback') });
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'PublishError' });
    await eventually(() => (errbackArgs.length === 1 ? true : undefined));
    await eventually(() => (signalsOf(harness, result.id).includes('postrun FAILURE') ? true : undefined));
    expect(harness.monitor.about(result.id)).toEqual(['received', 'started', 'failed PublishError']);
    expect(signalsOf(harness, result.id)).toEqual(['prerun', 'failure', 'postrun FAILURE']);
  });

  it('a hard time limit: FAILURE TimeLimitExceeded, the slot freed while the code still runs', async () => {
    const harness = await startWorker([task('t.hang', () => new Promise(() => undefined), { timeLimit: 0.2 }), task('t.add', (x: number, y: number) => x + y)], { concurrency: 1 });
    const client = harness.runtime.parts.client;
    const hung = await client.send('t.hang');
    const meta = await harness.waitForState(hung.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'TimeLimitExceeded' });
    expect(await (await client.send('t.add', [1, 1])).get({ timeout: 5_000 })).toBe(2);
  });

  it('a return value that cannot be stored: FAILURE EncodeError instead, monitors told FAILURE', async () => {
    const harness = await startWorker([task('t.fn', () => () => 'a function')]);
    const result = await harness.runtime.parts.client.send('t.fn');
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'EncodeError', exc_module: 'kombu.exceptions' });
    expect(harness.monitor.about(result.id)).toEqual(['received', 'started', 'failed ResultEncodeError']);
  });

  it('a next step that cannot be sent fails the task with why', async () => {
    const harness = await startWorker([task('t.ok', () => 'ok')]);
    const result = await harness.runtime.parts.client.send('t.ok', [], { link: signature('t.next', [], {}, { queue: 'no-such-queue', exchange: 'no-such-exchange', routingKey: 'x' }) });
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'PublishError' });
    expect(harness.logs).toContainEqual(expect.stringContaining('its next workflow step could not be sent'));
  });

  it('revoked before it ran, expired, and terminated while running: REVOKED stored, the revoked signal sent, chord counted', async () => {
    const bodies: unknown[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const harness = await startWorker([
      task('t.ok', () => 'ok'),
      task('t.wait', (signalled: boolean) => (signalled ? released : 'quick')),
      task('t.body', (results: unknown) => void bodies.push(results)),
    ]);
    const { client, worker } = harness.runtime.parts;

    const revokedId = randomUUID();
    await worker!.revoke([revokedId]);
    await client.send('t.ok', [], { taskId: revokedId });
    expect((await harness.waitForState(revokedId, 'REVOKED')).result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['revoked'] });

    // Held for its eta, then found expired (one already expired in the queue is dropped by the broker, as RabbitMQ does).
    const expired = await client.send('t.ok', [], { countdown: 0.5, expires: 0.2 });
    expect((await harness.waitForState(expired.id, 'REVOKED')).result).toMatchObject({ exc_message: ['expired'] });

    const running = await client.send('t.wait', [true]);
    await eventually(() => (worker!.activeTasks().some((active) => active.message.id === running.id) ? true : undefined));
    await worker!.revoke([running.id], { terminate: true });
    expect((await harness.waitForState(running.id, 'REVOKED')).result).toMatchObject({ exc_message: ['terminated'] });
    release();
    await eventually(() => (signalsOf(harness, running.id).includes('postrun REVOKED') ? true : undefined));
    expect(signalsOf(harness, running.id)).toEqual(['prerun', 'revoked', 'postrun REVOKED']);
    expect(signalsOf(harness, revokedId)).toEqual(['revoked']);

    // A chord whose header task is revoked completes (with ChordError) instead of waiting for ever.
    const headerId = randomUUID();
    await worker!.revoke([headerId]);
    const body = await chord([client.signature('t.ok'), signature('t.ok', [], {}, { taskId: headerId })], signature('t.body')).applyAsync();
    expect((await harness.waitForState(body.id, 'FAILURE')).result).toMatchObject({ exc_type: 'ChordError' });
    expect(bodies).toEqual([]);
  });

  it('a redelivered acksLate task whose worker was lost (rejectOnWorkerLost false): FAILURE WorkerLostError, errbacks sent, never run', async () => {
    const errbackArgs: unknown[] = [];
    let runs = 0;
    const harness = await startWorker(
      [task('t.crashy', () => void (runs += 1), { acksLate: true, rejectOnWorkerLost: false }), task('t.errback', (failedId: string) => void errbackArgs.push(failedId))],
      { autoStart: false },
    );
    const { client, backend, worker } = harness.runtime.parts;
    const result = await client.send('t.crashy', [], { linkError: signature('t.errback') });
    // A worker began the task (STARTED stored), then died holding its message: it comes back redelivered.
    await backend.storeResult({ taskId: result.id, status: 'STARTED', result: { pid: 1, hostname: 'gone@host' }, traceback: null, children: [], dateDone: null });
    const dying = createBroker(harness.brokerUrl);
    let held = false;
    await dying.consume({ queues: [harness.runtime.parts.queues.declaration(harness.queue)], prefetch: 1, onMessage: () => void (held = true) });
    await eventually(() => (held ? true : undefined));
    await dying.close();
    await worker!.start();
    const meta = await harness.waitForState(result.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' });
    await eventually(() => (errbackArgs.length === 1 ? true : undefined));
    expect(errbackArgs).toEqual([result.id]);
    expect(runs).toBe(0);
    expect(signalsOf(harness, result.id)).toEqual(['failure']);
    expect(harness.monitor.about(result.id)).toEqual(['received', 'failed WorkerLostError']);
  });

  it('an outcome that cannot be stored hands an acksLate message back to its queue to run again', async () => {
    let runs = 0;
    const harness = await startWorker([task('t.late', () => ++runs, { acksLate: true })], { concurrency: 1 });
    const { backend, client } = harness.runtime.parts;
    const storeResult = backend.storeResult.bind(backend);
    let failures = 1;
    backend.storeResult = async (meta, route) => {
      if (meta.status === 'SUCCESS' && failures-- > 0) throw new Error('database down');
      return storeResult(meta, route);
    };
    const result = await client.send('t.late');
    expect(await result.get({ timeout: 5_000 })).toBe(2);
    await eventually(() => (harness.monitor.about(result.id).includes('succeeded') ? true : undefined));
    expect(harness.monitor.about(result.id)).toEqual(['received', 'started', 'rejected requeue=true', 'received', 'started', 'succeeded']);
  });
});

describe('roles', () => {
  it('an app with no tasks of its own never consumes: Celery\'s built-ins (chord_unlock, map, starmap, chunks, accumulate) do not make it a worker', async () => {
    const id = randomUUID();
    const runtime = await createCeleryRuntime(
      { broker: `memory://roles-${id}`, backend: `memory://roles-${id}`, worker: { hostname: `roles-${id}@%h`, exitOnRemoteShutdown: false } },
      { logger: { log: () => undefined, warn: () => undefined, error: () => undefined } },
    );
    try {
      await runtime.start();
      expect(runtime.decidedRoles?.worker).toBe('none');
      expect(runtime.parts.registry.names()).toEqual(['celery.accumulate', 'celery.chord_unlock', 'celery.chunks', 'celery.map', 'celery.starmap']);
      expect(runtime.parts.registry.appTaskNames()).toEqual([]);
      await runtime.parts.client.send('tasks.for_python', [1]);
      expect(runtime.parts.worker!.isRunning).toBe(false);
      expect(await runtime.parts.broker.queueDepth('celery')).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  it('worker: false builds no worker at all', async () => {
    const id = randomUUID();
    const runtime = await createCeleryRuntime(
      { broker: `memory://roles-${id}`, backend: `memory://roles-${id}`, worker: false },
      { logger: { log: () => undefined, warn: () => undefined, error: () => undefined }, tasks: [task('t.add', () => 1)] },
    );
    try {
      await runtime.start();
      expect(runtime.decidedRoles?.worker).toBe('none');
      expect(runtime.parts.worker).toBeNull();
    } finally {
      await runtime.close();
    }
  });
});

describe('sendBulk', () => {
  it('sends many calls of one task at once, each settled on its own: a bad call is refused, the others run', async () => {
    const harness = await startWorker([task('t.add', (x: number, y: number) => x + y)]);
    const client = harness.runtime.parts.client;
    const settled = await client.sendBulk('t.add', [[1, 1], [2, 2], 'not an array' as never, [3, 3]]);
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ name: 'InvalidSendOptionsError' });
    const values = await Promise.all(settled.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value.get({ timeout: 5_000 })));
    expect(values).toEqual([2, 4, 6]);
  });
});

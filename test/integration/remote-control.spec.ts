import { Controller, INestApplicationContext, INestMicroservice, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CeleryClient, CeleryTask, CeleryWorker, currentTask, TaskState } from '../../lib';
import { ControlServer, LamportClock } from '../../lib/advanced';
import { CeleryServer } from '../../lib/microservice';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryCli, celeryCliJson } from '../support/celery-cli';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

@Injectable()
class ControlledTasks {
  readonly started = new Set<string>();

  @CeleryTask({ name: 'rc.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'rc.limited', rateLimit: '100/m' })
  limited(): string {
    return 'limited';
  }

  /** Runs until its time is up or its signal fires (revoke with terminate, a time limit), failing with the signal's reason. */
  @CeleryTask({ name: 'rc.sleep' })
  async sleep(key: string, seconds: number): Promise<string> {
    this.started.add(key);
    const { signal } = currentTask();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, seconds * 1000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    return key;
  }
}

@Controller()
class MicroserviceTasks {
  @MessagePattern('rc.ms.add')
  add(@Payload() [x, y]: [number, number]): number {
    return x + y;
  }
}

@Module({ controllers: [MicroserviceTasks] })
class RemoteControlledMicroservice {}

/**
 * Celery's own tools against our worker: Python Celery 5.2.6's `celery inspect`, `celery status`
 * and `celery control` see and steer it next to a real Python worker, and our ControlClient
 * (`celery.control`) talks to both. Every command names its destinations, so the workers of test
 * files running at the same time on the same broker stay out of it.
 */
describe(`remote control with ${CELERY_PEER.name}`, () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let worker: CeleryWorker;
  let tasks: ControlledTasks;
  let python: PythonWorker;
  let ours: string;
  let pythonQueue: string;

  beforeAll(async () => {
    env = await createTestEnvironment('it-remote-control');
    pythonQueue = `${env.queue}-py`;
    env.alsoRemove(pythonQueue);
    [app, python] = await Promise.all([
      startCeleryApp(
        {
          broker: RABBITMQ_URL,
          backend: env.databaseUrl,
          defaultQueue: env.queue,
          // In the test's own process a remote shutdown must not end it: the default (exit 0) is tested in remote-shutdown.spec.ts.
          worker: { hostname: `nest-rc-${randomBytes(4).toString('hex')}@%h`, concurrency: 4, exitOnRemoteShutdown: false },
        },
        [ControlledTasks],
      ),
      startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl) }),
    ]);
    celery = app.get(CeleryClient);
    worker = app.get(CeleryWorker);
    tasks = app.get(ControlledTasks);
    ours = worker.hostname;
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it('is pinged by `celery inspect ping` and listed by `celery status`, next to a Python worker', async () => {
    const [pings, status] = await Promise.all([
      celeryCliJson('inspect', 'ping', '-d', `${ours},${python.nodename}`, '-t', '5'),
      celeryCli('status', '-d', `${ours},${python.nodename}`, '-t', '5'),
    ]);
    expect(pings).toEqual({ [ours]: { ok: 'pong' }, [python.nodename]: { ok: 'pong' } });
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`${ours}: OK`);
    expect(status.stdout).toContain(`${python.nodename}: OK`);
    expect(status.stdout).toContain('2 nodes online.');
  });

  it('lists our tasks to `celery inspect registered`, with their rate limits', async () => {
    const registered = await celeryCliJson<string[]>('inspect', 'registered', '-d', ours, '-t', '5');
    expect(registered).toEqual({ [ours]: ['rc.add', 'rc.limited [rate_limit=100/m]', 'rc.sleep'] });
  });

  it('shows a running task to `celery inspect active` and `query_task`, and stops it with `celery control terminate`', async () => {
    const result = await celery.send('rc.sleep', ['active', 30]);
    await eventually(() => (tasks.started.has('active') ? true : undefined), 10_000, 'the task to start');
    const [active, queried] = await Promise.all([
      celeryCliJson('inspect', 'active', '-d', ours, '-t', '5'),
      celeryCliJson('inspect', 'query_task', result.id, '-d', ours, '-t', '5'),
    ]);
    const expectedInfo = {
      id: result.id,
      name: 'rc.sleep',
      args: ['active', 30],
      kwargs: {},
      type: 'rc.sleep',
      hostname: ours,
      time_start: expect.any(Number),
      acknowledged: true,
      // Our client leaves `priority` out unless asked, so Python's Request would say None too.
      delivery_info: { exchange: '', routing_key: env.queue, priority: null, redelivered: false },
      worker_pid: process.pid,
    };
    expect(active).toEqual({ [ours]: [expectedInfo] });
    expect(queried).toEqual({ [ours]: { [result.id]: ['active', expectedInfo] } });

    const terminated = await celeryCliJson('control', 'terminate', 'SIGTERM', result.id, '-d', ours, '-t', '5');
    expect(terminated).toEqual({ [ours]: { ok: `terminate: ${result.id}` } });
    expect(await result.get({ timeout: 10_000, propagate: false })).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
    expect(await result.state()).toBe(TaskState.REVOKED);
  });

  it('shows an ETA task to `celery inspect scheduled` and a rate-limited one to `celery inspect reserved`', async () => {
    worker.setRateLimit('rc.limited', '1/m');
    try {
      const later = await celery.send('rc.add', [1, 1], { countdown: 30 });
      const first = await celery.send('rc.limited');
      const held = await celery.send('rc.limited');
      await eventually(() => (worker.scheduledTasks().length > 0 && worker.reservedTasks().length > 0 ? true : undefined), 10_000, 'an ETA task and a throttled one');
      const [scheduled, reserved] = await Promise.all([
        celeryCliJson('inspect', 'scheduled', '-d', ours, '-t', '5'),
        celeryCliJson('inspect', 'reserved', '-d', ours, '-t', '5'),
      ]);
      expect(scheduled[ours]).toEqual([
        {
          eta: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
          priority: 6,
          request: expect.objectContaining({ id: later.id, name: 'rc.add', args: [1, 1], time_start: null, acknowledged: false, worker_pid: null }),
        },
      ]);
      expect(reserved[ours]).toEqual([expect.objectContaining({ id: held.id, type: 'rc.limited', time_start: null, acknowledged: false })]);
      expect(await first.get({ timeout: 5_000 })).toBe('limited');
      await celery.revoke(later.id);
    } finally {
      worker.setRateLimit('rc.limited', '100/m');
    }
  });

  it('answers `celery inspect stats`, `active_queues` and `conf` in the shapes Celery tools read, with no password', async () => {
    await (await celery.send('rc.add', [2, 3])).get({ timeout: 10_000 });
    const [stats, queues, conf, clock, report] = await Promise.all([
      celeryCliJson('inspect', 'stats', '-d', ours, '-t', '5'),
      celeryCliJson('inspect', 'active_queues', '-d', ours, '-t', '5'),
      celeryCliJson('inspect', 'conf', '-d', ours, '-t', '5'),
      celeryCliJson('inspect', 'clock', '-d', ours, '-t', '5'),
      celeryCliJson('inspect', 'report', '-d', ours, '-t', '5'),
    ]);
    expect(clock[ours]).toEqual({ clock: expect.any(Number) });
    expect(report[ours].ok).toContain('nestjs-celery');
    expect(stats[ours]).toMatchObject({
      total: expect.objectContaining({ 'rc.add': expect.any(Number) }),
      pid: process.pid,
      clock: expect.stringMatching(/^\d+$/),
      uptime: expect.any(Number),
      pool: { 'max-concurrency': 4, processes: [process.pid] },
      broker: { hostname: '127.0.0.1', userid: 'guest', port: 5672, transport: 'amqp', virtual_host: '/' },
      prefetch_count: worker.prefetchCount, // concurrency 4, plus one per ETA task held
      rusage: expect.objectContaining({ utime: expect.any(Number), maxrss: expect.any(Number) }),
    });
    expect(stats[ours].broker).not.toHaveProperty('password');
    expect(queues[ours]).toEqual([expect.objectContaining({ name: env.queue, routing_key: env.queue, durable: true, exchange: expect.objectContaining({ name: env.queue, type: 'direct' }) })]);
    expect(conf[ours]).toMatchObject({ broker_url: 'amqp://guest:***@127.0.0.1:5672', task_default_queue: env.queue, worker_concurrency: 4 });
    expect(JSON.stringify(conf)).not.toContain('guest:guest');
  });

  it('flags ids with `celery control revoke` and lists them to `celery inspect revoked`', async () => {
    const id = `cli-revoked-${randomBytes(4).toString('hex')}`;
    expect(await celeryCliJson('control', 'revoke', id, '-d', ours, '-t', '5')).toEqual({ [ours]: { ok: `tasks ${id} flagged as revoked` } });
    expect((await celeryCliJson<string[]>('inspect', 'revoked', '-d', ours, '-t', '5'))[ours]).toContain(id);
  });

  it('answers the event switches as Celery does, and refuses pool_grow with the reason', async () => {
    const viaClient = (method: string) => celery.control.broadcast(method, {}, { destination: [ours], reply: true, timeout: 5_000 });
    expect(await celeryCliJson('control', 'enable_events', '-d', ours, '-t', '5')).toEqual({ [ours]: { ok: 'task events enabled' } });
    expect(await viaClient('enable_events')).toEqual([{ [ours]: { ok: 'task events already enabled' } }]);
    expect(await celeryCliJson('control', 'disable_events', '-d', ours, '-t', '5')).toEqual({ [ours]: { ok: 'task events disabled' } });
    const grow = await celeryCliJson('control', 'pool_grow', '2', '-d', ours, '-t', '5');
    // Python's repr quotes a message holding ' with ".
    expect(grow[ours].error).toMatch(/^ValueError\("pool_grow needs the process pool: this worker runs its tasks on its event loop\. Set worker\.pool: 'process'/);
  });

  it('answers mingle\'s hello from another node with an empty revoked set, an old alias, and an unknown command as Celery does', async () => {
    const broadcast = (method: string, args: Record<string, unknown> = {}) => celery.control.broadcast(method, args, { destination: [ours], reply: true, timeout: 5_000 });
    expect(await broadcast('hello', { from_node: 'other@host', revoked: {} })).toEqual([{ [ours]: { revoked: {}, clock: expect.any(Number) } }]);
    expect(await broadcast('hello', { from_node: ours, revoked: {} })).toEqual([{ [ours]: null }]);
    expect(await broadcast('dump_tasks')).toEqual([{ [ours]: expect.arrayContaining(['rc.add']) }]);
    expect(await broadcast('no_such_command')).toEqual([{ [ours]: { error: "KeyError('no_such_command')" } }]);
  });

  it('changes a rate limit with `celery control rate_limit`, and says so for an unknown task', async () => {
    const [set, unknown, invalid] = await Promise.all([
      celeryCliJson('control', 'rate_limit', 'rc.add', '5/s', '-d', ours, '-t', '5'),
      celeryCliJson('control', 'rate_limit', 'rc.nope', '5/s', '-d', ours, '-t', '5'),
      celeryCliJson('control', 'rate_limit', 'rc.add', 'fast', '-d', ours, '-t', '5'),
    ]);
    expect(set).toEqual({ [ours]: { ok: 'new rate limit set successfully' } });
    expect(unknown).toEqual({ [ours]: { error: 'unknown task' } });
    expect(invalid[ours].error).toMatch(/^Invalid rate limit string: ValueError\(/);
    expect(worker.registeredTasks().find((task) => task.name === 'rc.add')!.rateLimit).toBe('5/s');
    expect(await celeryCliJson<string[]>('inspect', 'registered', '-d', ours, '-t', '5')).toEqual({
      [ours]: ['rc.add [rate_limit=5/s]', 'rc.limited [rate_limit=100/m]', 'rc.sleep'],
    });
  });

  it('changes time limits with `celery control time_limit`: the next run gets them', async () => {
    const reply = await celeryCliJson('control', 'time_limit', 'rc.sleep', '0.3', '2', '-d', ours, '-t', '5');
    expect(reply).toEqual({ [ours]: { ok: 'time limits set successfully' } });
    try {
      // As a Python worker shows the task attributes the command set.
      expect(await celeryCliJson('inspect', 'registered', 'time_limit', 'soft_time_limit', '-d', ours, '-t', '5')).toEqual({
        [ours]: ['rc.add', 'rc.limited', 'rc.sleep [time_limit=2.0 soft_time_limit=0.3]'],
      });
      const result = await celery.send('rc.sleep', ['limited', 10]);
      expect(await result.get({ timeout: 10_000, propagate: false })).toMatchObject({ exc_type: 'SoftTimeLimitExceeded' });
    } finally {
      worker.setTimeLimits('rc.sleep', null, null);
    }
  });

  // Not beyond int32: every worker on the broker adopts the clock of any pidbox message, and py-amqp
  // writes such values as type L, which amqplib cannot read; the other test files would suffer.
  it('is read by Python with clock headers past one byte and past 16 bits (py-amqp misreads amqplib\'s own choice)', async () => {
    const clock = app.get(LamportClock);
    for (const value of [200, 70_000]) {
      clock.adjust(value);
      expect(await celeryCliJson('inspect', 'ping', '-d', ours, '-t', '5')).toEqual({ [ours]: { ok: 'pong' } });
    }
    // Python's own clock follows ours (the reply collector adjusts it), and its requests still reach us.
    expect(await celeryCliJson('inspect', 'clock', '-d', ours, '-t', '5')).toEqual({ [ours]: { clock: expect.any(Number) } });
    expect(clock.value).toBeGreaterThan(70_000);
  });

  it('lets our ControlClient ping both workers and read what the Python worker registered', async () => {
    const pongs = await celery.control.ping({ destination: [ours, python.nodename], timeout: 5_000 });
    expect(Object.assign({}, ...pongs)).toEqual({ [ours]: { ok: 'pong' }, [python.nodename]: { ok: 'pong' } });

    const registered = await celery.control.inspect({ destination: [python.nodename], timeout: 5_000 }).registered();
    expect(registered[python.nodename]).toEqual(expect.arrayContaining(['tasks.add', 'py.upper', 'py.whoami']));
    expect(registered[python.nodename].some((name) => name.startsWith('celery.'))).toBe(false);

    const stats = await celery.control.inspect({ destination: [python.nodename], timeout: 5_000 }).stats();
    expect(stats[python.nodename]).toMatchObject({ pid: expect.any(Number), clock: expect.any(String), pool: expect.any(Object) });
  });

  it('stops our worker on a remote shutdown (exitOnRemoteShutdown: false keeps the process), and tells the application', async () => {
    const control = app.get(ControlServer);
    const shutDown = new Promise<void>((resolve) => control.onShutdown(resolve));
    await celery.control.shutdown({ destination: [ours] });
    await shutDown;
    expect(worker.isRunning).toBe(false);
    expect(control.isRunning).toBe(false);
    const left = await celery.control.ping({ destination: [ours], timeout: 500 });
    expect(left).toEqual([]);
  });
});

describe('a CeleryServer microservice under remote control', () => {
  let env: TestEnvironment;
  let microservice: INestMicroservice | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-remote-control-ms');
  });

  afterAll(async () => {
    await microservice?.close();
    await env?.dispose();
  });

  it('answers `celery inspect ping`, and stops its worker on `celery control shutdown`', async () => {
    const node = `nest-ms-${randomBytes(4).toString('hex')}@${hostname()}`;
    const strategy = new CeleryServer({
      broker: RABBITMQ_URL,
      backend: env.databaseUrl,
      defaultQueue: env.queue,
      worker: { hostname: node, exitOnRemoteShutdown: false },
    });
    microservice = await NestFactory.createMicroservice(RemoteControlledMicroservice, { strategy, logger: false });
    await microservice.listen();
    expect(await celeryCliJson('inspect', 'ping', '-d', node, '-t', '5')).toEqual({ [node]: { ok: 'pong' } });

    // A shutdown is never answered, so the CLI reports that nobody replied (exit 69), as with a Python worker.
    expect((await celeryCli('control', 'shutdown', '-d', node, '-t', '1')).exitCode).toBe(69);
    const worker = strategy.unwrap<CeleryWorker>();
    await eventually(() => (worker.isRunning ? undefined : true), 10_000, 'the microservice worker to stop');
    expect((await celeryCli('inspect', 'ping', '-d', node, '-t', '1')).exitCode).toBe(69);
  });
});

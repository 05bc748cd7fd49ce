import { INestApplicationContext } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CeleryClient, CeleryWorker, chord, group, GroupResult, TaskFailedError } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { createBroker } from '../../lib/broker/create-broker';
import { eventually, startCeleryApp } from '../support/celery-app';
import { PYTHON, pythonEnvironment } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { uniqueName } from '../support/rabbitmq';
import { killRedisConnections, redisClient, redisUrl } from '../support/redis';
import { CELERY_PEER, peerIsAtLeast } from '../support/celery-peer';
import { RedisResultBackend } from '../../lib/backend/redis/redis-result-backend';

const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** This file's database on the test Redis: kombu's unacked hash is per database, so no other spec shares it. */
const DB = 8;

/**
 * Redis as broker and result backend, against real Redis and a real Python Celery 5.2.6
 * (python3-redis): tasks and results both ways, a chord across languages, remote control, and
 * reconnecting after Redis dropped our connections.
 */
describe(`Redis broker and result backend with ${CELERY_PEER.name}`, () => {
  const url = redisUrl(DB);
  let redis: Redis;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let python: PythonWorker;
  const ourQueue = uniqueName('it-redis-nest');
  const pythonQueue = uniqueName('it-redis-py');
  const settings = { brokerUrl: url, resultBackend: url };

  beforeAll(async () => {
    redis = await redisClient(DB);
    [app, python] = await Promise.all([
      startCeleryApp(celeryOptionsFromEnvironment({ CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: url, CELERY_QUEUES: ourQueue }, { worker: true }), [], [TasksModule]),
      startPythonWorker({ queues: [pythonQueue], ...settings }),
    ]);
    celery = app.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    if (redis) {
      for (const queue of [ourQueue, pythonQueue]) await redis.del(queue, `_kombu.binding.${queue}`);
      // Reply queues `celery inspect` left bound (kombu never unbinds them); this database is ours.
      await redis.del('_kombu.binding.reply.celery.pidbox');
      redis.disconnect();
    }
  });

  it('runs tasks a Python producer sends on redis:// (also with a countdown), and Python reads the results from the Redis backend', async () => {
    const output = await runInteropClient<Record<string, unknown>>(
      `
import json, time
from interop_tasks import add, fail
started = time.monotonic()
r = add.apply_async((20, 22), queue=${JSON.stringify(ourQueue)})
later = add.apply_async((1, 2), queue=${JSON.stringify(ourQueue)}, countdown=1.5)
f = fail.apply_async(("from python",), queue=${JSON.stringify(ourQueue)})
try:
    f.get(timeout=30)
    failure = "no error"
except Exception as error:
    failure = [type(error).__name__, str(error)]
print(json.dumps({"sum": r.get(timeout=30), "state": r.state, "later": later.get(timeout=30), "held": time.monotonic() - started >= 1.5, "failure": failure}))
`,
      settings,
    );
    // Our worker stores a plain JS Error as Python's own Exception (python-exception-classes.ts).
    expect(output).toEqual({ sum: 42, state: 'SUCCESS', later: 3, held: true, failure: ['Exception', 'from python'] });
  }, 60_000);

  it('sends tasks only the Python worker has, and gets their results and failures', async () => {
    const result = await celery.send('py.upper', ['redis'], { queue: pythonQueue });
    expect(await result.get({ timeout: 20_000 })).toBe('REDIS');
    const failure = await (await celery.send('py.divide', [1, 0], { queue: pythonQueue })).get({ timeout: 20_000 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect(failure).toMatchObject({ excType: 'ZeroDivisionError', excMessage: ['division by zero'] });
    expect(await redis.ttl(`celery-task-meta-${result.id}`)).toBeGreaterThan(86_000);
  }, 60_000);

  it('writes the stamps of an extended result as Celery 5.3+ does, and reads the ones Python writes', async () => {
    const backend = new RedisResultBackend({ url, extended: true });
    await backend.connect();
    try {
      const [ours, theirs] = [randomUUID(), randomUUID()];
      await backend.storeResult({
        taskId: ours, status: 'SUCCESS', result: 1, traceback: null, children: [], dateDone: new Date(),
        name: 'tasks.add', args: [], kwargs: {}, worker: 'nest@host', retries: 0, queue: 'q', stamps: { mystamp: 'ours' },
      });
      const pythonRead = await runInteropClient(
        `import json
from celery.app.task import Context
from interop_tasks import app
app.conf.result_extended = True
request = Context(id=${JSON.stringify(theirs)}, task='tasks.add', args=[], kwargs={}, hostname='py@host', retries=0,
                  delivery_info={'routing_key': 'q'}, stamped_headers=['mystamp'], stamps={'mystamp': 'theirs'})
app.backend.store_result(${JSON.stringify(theirs)}, 1, 'SUCCESS', request=request)
meta = app.backend.get_task_meta(${JSON.stringify(ours)})
print(json.dumps({key: meta.get(key) for key in ('stamped_headers', 'mystamp', 'status')}))`,
        settings,
      );
      expect(pythonRead).toEqual({ stamped_headers: ['mystamp'], mystamp: 'ours', status: 'SUCCESS' });
      // Celery 5.2 stores no stamps, whatever the request carries.
      expect((await backend.getResult(theirs))?.stamps).toEqual(peerIsAtLeast('5.3') ? { mystamp: 'theirs' } : undefined);
    } finally {
      await backend.close();
    }
  }, 60_000);

  it('is woken by the pub/sub message of a result Python stores, while subscribed to its channel', async () => {
    const id = randomUUID();
    const channel = `celery-task-meta-${id}`;
    const waiting = celery.asyncResult(id).get({ timeout: 30_000 });
    await eventually(async () => ((await redis.pubsub('NUMSUB', channel))[1] === 1 ? true : undefined), 10_000, 'our get() to subscribe');
    await runInteropClient(`from interop_tasks import app\napp.backend.store_result(${JSON.stringify(id)}, {"from": "python"}, "SUCCESS")\nprint("null")`, settings);
    expect(await waiting).toEqual({ from: 'python' });
  }, 60_000);

  it('saves a group that Python restores, and restores one Python saved', async () => {
    const result = await group([celery.signature('tasks.add', [1, 1], {}, { queue: ourQueue }), celery.signature('tasks.add', [2, 2], {}, { queue: pythonQueue })]).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual([2, 4]);
    await result.save();
    const restored = await runInteropClient<{ ours: number[]; theirs: string }>(
      `
import json
from celery import group
from celery.result import GroupResult
from interop_tasks import app, add
r = group(add.s(i, i).set(queue=${JSON.stringify(ourQueue)}) for i in range(3))()
r.save()
r.join(timeout=10)
print(json.dumps({"ours": GroupResult.restore(${JSON.stringify(result.id)}, app=app).join(timeout=10), "theirs": r.id}))
`,
      settings,
    );
    expect(restored.ours).toEqual([2, 4]);
    expect(await (await GroupResult.restore<number>(restored.theirs, celery))!.get({ timeout: 5_000 })).toEqual([0, 2, 4]);
  }, 60_000);

  it('joins a Nest chord whose header runs on both workers and whose body runs on Python', async () => {
    const py = (task: string, args: unknown[]) => celery.signature(task, args, {}, { queue: pythonQueue });
    const nest = (task: string, args: unknown[]) => celery.signature(task, args, {}, { queue: ourQueue });
    const result = await chord([nest('tasks.add', [1, 1]), py('tasks.add', [2, 2]), nest('tasks.add', [3, 3])], py('tasks.xsum', [])).applyAsync();
    expect(await result.get({ timeout: 30_000 })).toBe(12);
    // Joined with Celery's .s/.j/.t keys, deleted by whoever sent the body (its own: another test's may be left in this database).
    const groupId = result.parent!.id;
    await eventually(async () => ((await redis.keys(`celery-taskset-meta-${groupId}.?`)).length === 0 ? true : undefined), 10_000, 'the chord keys to go');
  }, 60_000);

  /**
   * The header's last part is parked on a queue no one consumes until the first two are counted in
   * `.j`, then moved to the queue of the worker that is to finish the header, so each worker is
   * the joiner in turn. The joiner deletes the keys just after it sent the body (Celery's order:
   * `callback.delay()`, then the DEL in `finally`), so the body's result can be read a moment
   * before they go, whichever worker joined: they are awaited, not read at once.
   */
  it.each([
    ['Nest', ourQueue],
    ['Python', pythonQueue],
  ])('joins a Python chord whose header runs on both workers, the last part on the %s worker, and whose body runs on the Nest worker; the joiner deletes the join keys', async (_joiner, lastQueue) => {
    const parked = uniqueName('it-redis-parked');
    try {
      const output = await runInteropClient<{ value: number; waiting: Record<string, number>; leftover: string[] }>(
        `
import json, time, redis
from celery import chord
from interop_tasks import add, xsum
rc = redis.Redis.from_url(${JSON.stringify(url)})

def until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)

r = chord([add.s(1, 1).set(queue=${JSON.stringify(ourQueue)}), add.s(2, 2).set(queue=${JSON.stringify(pythonQueue)}), add.s(3, 3).set(queue=${JSON.stringify(parked)})],
          xsum.s().set(queue=${JSON.stringify(ourQueue)}))()
gid = r.parent.id
join_keys = lambda: sorted(key.decode().rsplit(gid, 1)[1] for key in rc.keys("celery-taskset-meta-" + gid + "*"))
until(lambda: rc.zcard("celery-taskset-meta-" + gid + ".j") == 2, 30)
waiting = {suffix: rc.ttl("celery-taskset-meta-" + gid + suffix) for suffix in join_keys()}
rc.rpoplpush(${JSON.stringify(parked)}, ${JSON.stringify(lastQueue)})
value = r.get(timeout=30)
until(lambda: not join_keys(), 10)
print(json.dumps({"value": value, "waiting": waiting, "leftover": join_keys()}))
`,
        settings,
      );
      expect(output.value).toBe(12);
      // Before the last part: Celery's size and the two parts, each expiring after result_expires (1 day).
      expect(Object.keys(output.waiting).sort()).toEqual(['.j', '.s']);
      for (const ttl of Object.values(output.waiting)) expect(ttl > 0 && ttl <= 86_400).toBe(true);
      expect(output.leftover).toEqual([]);
    } finally {
      await redis.del(parked, `_kombu.binding.${parked}`);
    }
  }, 60_000);

  it("refuses to count our part in a chord whose Celery workers keep .j as a list (result_chord_ordered False), naming that setting", async () => {
    const backend = new RedisResultBackend({ url });
    await backend.connect();
    const [groupId, theirs, ours] = [randomUUID(), randomUUID(), randomUUID()];
    try {
      await runInteropClient(
        `from celery.app.task import Context
from interop_tasks import app, xsum
app.conf.result_backend_transport_options = {"result_chord_ordered": False}
app.backend.set_chord_size(${JSON.stringify(groupId)}, 2)
app.backend.on_chord_part_return(Context(id=${JSON.stringify(theirs)}, group=${JSON.stringify(groupId)}, group_index=0, chord=xsum.s()), "SUCCESS", 2)
print("null")`,
        settings,
      );
      expect(await redis.type(`celery-taskset-meta-${groupId}.j`)).toBe('list');
      // Counted as never complete, silently, before: the chord hung with its keys kept until they expired.
      await expect(backend.countChordPart(groupId, ours, 1)).rejects.toThrow(/is not a sorted set: .*result_chord_ordered/);
    } finally {
      await redis.del(...['.j', '.t', '.s'].map((suffix) => `celery-taskset-meta-${groupId}${suffix}`));
      await backend.close();
    }
  }, 60_000);

  it('honours priorities: kombu bands, 0 first and 9 last, for Python consumers and ours', async () => {
    const queue = uniqueName('it-redis-prio');
    try {
      const broker = createBroker(url, { logger: SILENT });
      await broker.connect();
      for (const priority of [9, 6, 3, 0]) await celery.send('tasks.add', [priority, 0], { queue, priority });
      const received: number[] = [];
      const consumer = await broker.consume({
        queues: [{ name: queue, durable: true, exclusive: false, autoDelete: false, arguments: {} }],
        prefetch: 1,
        onMessage: (message) => {
          received.push(JSON.parse(message.body.toString('utf8'))[0][0]);
          message.ack();
        },
      });
      await eventually(() => (received.length === 4 ? true : undefined), 10_000, 'our consumer to read the four');
      await consumer.cancel();
      await broker.close();
      expect(received).toEqual([0, 3, 6, 9]);

      for (const priority of [9, 6, 3, 0]) await celery.send('tasks.add', [priority, 0], { queue, priority });
      expect(await redis.llen(queue)).toBe(1);
      expect(await redis.llen(`${queue}\x06\x169`)).toBe(1);
      const order = await runInteropClient<number[]>(
        `
import json
from interop_tasks import app
with app.connection_for_read() as conn:
    q = conn.SimpleQueue(${JSON.stringify(queue)}, no_ack=True)
    seen = [q.get(timeout=5).payload[0][0] for _ in range(4)]
print(json.dumps(seen))
`,
        settings,
      );
      expect(order).toEqual([0, 3, 6, 9]);
    } finally {
      await redis.del(queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`);
    }
  }, 60_000);

  /** `celery inspect ping` of Python Celery 5.2.6 on our Redis: the replies by node. */
  function inspectPing(...nodes: string[]): Promise<unknown> {
    return new Promise((resolve, reject) =>
      execFile(PYTHON, ['-m', 'celery', '-b', url, 'inspect', 'ping', '-d', nodes.join(','), '-t', '5', '--json'], { timeout: 60_000, env: pythonEnvironment() }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
      ),
    );
  }

  it('is pinged by `celery inspect ping` over Redis, and pings the Python worker', async () => {
    const ours = app.get(CeleryWorker).hostname;
    expect(await inspectPing(ours, python.nodename)).toEqual({ [ours]: { ok: 'pong' }, [python.nodename]: { ok: 'pong' } });
    const replies = await celery.control.ping({ destination: [python.nodename], timeout: 5_000 });
    expect(replies).toEqual([{ [python.nodename]: { ok: 'pong' } }]);
  }, 60_000);

  it("broadcasts our worker's events on Redis the way Celery does (fanout pub/sub), so Python's event receiver gets them", async () => {
    const ours = app.get(CeleryWorker).hostname;
    const seen = await runInteropClient<string[]>(
      `
import json, socket
from interop_tasks import app
seen = []
def on_event(event):
    if event.get("hostname") == ${JSON.stringify(ours)}:
        seen.append(event["type"])
        if "worker-heartbeat" in seen:
            receiver.should_stop = True
with app.connection() as conn:
    receiver = app.events.Receiver(conn, handlers={"*": on_event})
    try:
        receiver.capture(limit=None, timeout=20, wakeup=False)
    except socket.timeout:
        pass
print(json.dumps(seen))
`,
      settings,
    );
    expect(seen).toContain('worker-heartbeat');
  }, 60_000);

  it('keeps working after Redis closed all our connections (CLIENT KILL): publish, consume, results, remote control', async () => {
    const killed = await killRedisConnections(redis, 'nestjs-celery');
    // Broker commands, the worker's BRPOP, pidbox subscription, results and their subscription.
    expect(killed).toBeGreaterThanOrEqual(5);
    const result = await eventually(async () => celery.send('tasks.add', [5, 5], { queue: ourQueue }).catch(() => undefined), 20_000, 'a publish after the kill');
    expect(await result.get({ timeout: 20_000 })).toBe(10);
    const ours = app.get(CeleryWorker).hostname;
    await eventually(async () => {
      const pings = (await inspectPing(ours).catch(() => undefined)) as Record<string, unknown> | undefined;
      return pings?.[ours] ? pings : undefined;
    }, 30_000, 'our worker to answer a ping after re-subscribing');
  }, 90_000);
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { CeleryClient, CeleryModuleOptions, CeleryTask, CeleryWorker, currentTask, TaskFailedError, TaskState } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER, peerIsAtLeast } from '../support/celery-peer';

@Injectable()
class RevocableTasks {
  readonly ran = new Set<string>();
  /** Keys of rv.long runs whose signal fired, and why. */
  readonly aborted = new Map<string, unknown>();

  @CeleryTask({ name: 'rv.mark' })
  mark(key: string): string {
    this.ran.add(key);
    return key;
  }

  /** Runs until its signal fires (revoke with terminate), failing with the signal's reason. */
  @CeleryTask({ name: 'rv.long' })
  async long(key: string): Promise<string> {
    this.ran.add(key);
    const { signal } = currentTask();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 30_000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        this.aborted.set(key, signal.reason);
        reject(signal.reason);
      });
    });
    return key;
  }
}

/**
 * Revokes travel as Celery's broadcast both ways: Python's `app.control.revoke()` reaches our
 * worker, our `celery.revoke()` reaches a Python Celery 5.2.6 worker, and our worker keeps
 * revoked ids in the database so they outlive a restart.
 */
describe(`revoke broadcasts between ${CELERY_PEER.name} and our worker`, () => {
  let env: TestEnvironment;
  let options: CeleryModuleOptions;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let worker: CeleryWorker;
  let python: PythonWorker;
  let pythonQueue: string;

  /** Python's `app.control` (interop_tasks' app, on the test broker). */
  const pythonControl = (call: string) =>
    runInteropClient(`import json\nfrom interop_tasks import app\napp.control.${call}\nprint(json.dumps(True))`, { resultBackend: celeryDatabaseUrl(env.databaseUrl) });

  const startOurs = async () => {
    app = await startCeleryApp(options, [RevocableTasks]);
    celery = app.get(CeleryClient);
    worker = app.get(CeleryWorker);
  };

  beforeAll(async () => {
    env = await createTestEnvironment('it-revoke-broadcast');
    pythonQueue = `${env.queue}-py`;
    env.alsoRemove(pythonQueue);
    options = {
      broker: RABBITMQ_URL,
      backend: env.databaseUrl,
      defaultQueue: env.queue,
      worker: { hostname: `nest-rv-${randomBytes(4).toString('hex')}@%h` },
    };
    // Ours first: it creates the tables Python's database backend then writes to.
    await startOurs();
    python = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl) });
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  it("hears Python's app.control.revoke(id): the task sent later with that id is stored REVOKED and never runs", async () => {
    const id = randomUUID();
    await pythonControl(`revoke('${id}')`);
    await eventually(() => (worker.revokedIds().includes(id) ? true : undefined), 10_000, 'the revoke to reach our worker');

    const result = await celery.send('rv.mark', ['python-revoked'], { taskId: id });
    const error = await result.get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ state: TaskState.REVOKED, excType: 'TaskRevokedError', excMessage: ['revoked'] });
    expect(app.get(RevocableTasks).ran.has('python-revoked')).toBe(false);
  });

  it("stops a task running on our worker on Python's revoke(id, terminate=True)", async () => {
    const result = await celery.send('rv.long', ['terminated']);
    await eventually(() => (app.get(RevocableTasks).ran.has('terminated') ? true : undefined), 10_000, 'the task to start');
    await pythonControl(`revoke('${result.id}', terminate=True)`);
    // Celery 5.6's workers store REVOKED "revoked" for every id a revoke names, whoever runs it
    // (worker/control.py _revoke → mark_as_revoked): the Python worker of this file races our
    // "terminated" to the same backend. That our worker terminated the task is seen on the task.
    const reasons = peerIsAtLeast('5.6') ? expect.stringMatching(/^(terminated|revoked)$/) : 'terminated';
    expect(await result.get({ timeout: 10_000, propagate: false })).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: [reasons] });
    expect(app.get(RevocableTasks).aborted.get('terminated')).toMatchObject({ reason: 'terminated' });
    expect(await result.state()).toBe(TaskState.REVOKED);
    expect(worker.activeTasks()).toHaveLength(0);
  });

  it('reaches a Python worker with our celery.revoke(id): it stores the task REVOKED without running it', async () => {
    const id = randomUUID();
    await celery.revoke(id);
    // Commands reach a worker in order: once `revoked` lists the id, the revoke was applied.
    const inspect = celery.control.inspect({ destination: [python.nodename], timeout: 3_000 });
    await eventually(async () => ((await inspect.revoked())[python.nodename]?.includes(id) ? true : undefined), 15_000, 'the Python worker to list the id');

    const result = await celery.send('py.upper', ['never'], { taskId: id, queue: pythonQueue });
    const error = await result.get({ timeout: 15_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ state: TaskState.REVOKED, excType: 'TaskRevokedError' });
  });

  it("takes part in a starting Python worker's mingle: its revoked ids join ours, and Python's own code reads our reply", async () => {
    const id = randomUUID();
    // Celery 5.2.6's Mingle step, run against a stand-in consumer so that an error in reading our reply surfaces here.
    const outcome = await runInteropClient<{ reply: { revoked: object; clock: number }; clockAfter: number }>(
      [
        'import json',
        'from types import SimpleNamespace',
        'from celery.utils.collections import LimitedSet',
        'from celery.worker.consumer.mingle import Mingle',
        'from interop_tasks import app',
        'revoked = LimitedSet(maxlen=50000, expires=10800)',
        `revoked.add('${id}')`,
        "state = SimpleNamespace(revoked=revoked)",
        "c = SimpleNamespace(app=app, connection=app.connection_for_write(), hostname='py-mingle@test', controller=SimpleNamespace(state=state))",
        'mingle = object.__new__(Mingle)',
        'replies = mingle.send_hello(c)',
        `reply = replies['${worker.hostname}']`,
        'mingle.sync_with_node(c, **reply)',
        "print(json.dumps({'reply': reply, 'clockAfter': app.clock.value}))",
      ].join('\n'),
      { resultBackend: celeryDatabaseUrl(env.databaseUrl) },
    );
    expect(outcome.reply).toEqual({ revoked: {}, clock: expect.any(Number) });
    expect(outcome.clockAfter).toBeGreaterThan(outcome.reply.clock); // Python moved its clock past ours
    expect(worker.revokedIds()).toContain(id);
  });

  it('keeps revoked ids in the database: after a restart on the same database the id is still refused', async () => {
    const id = randomUUID();
    await celery.revoke(id);
    // The worker remembers the id at once and writes it to the database just after.
    const rows = await eventually(async () => {
      const found = await revokedRows(env.databaseUrl, id);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'the revoked id to be stored');
    expect(rows).toEqual([{ task_id: id, recent: true }]);
    expect(worker.revokedIds()).toContain(id);

    await app.close();
    await startOurs();
    expect(worker.revokedIds()).toContain(id); // loaded at start, before any message

    const result = await celery.send('rv.mark', ['after-restart'], { taskId: id });
    expect(await result.get({ timeout: 10_000, propagate: false })).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['revoked'] });
    expect(app.get(RevocableTasks).ran.has('after-restart')).toBe(false);
  });
});

/** Our `celery_revoked_tasks` row for the id, read with plain SQL. */
async function revokedRows(databaseUrl: string, id: string): Promise<{ task_id: string; recent: boolean }[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT task_id, revoked_at > now() - interval '1 minute' AS recent FROM celery_revoked_tasks WHERE task_id = $1`, [id]);
    return rows;
  } finally {
    await client.end();
  }
}

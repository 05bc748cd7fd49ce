import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, CeleryWorker, chain, currentTask, signature } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { CELERY_PEER, peerIsAtLeast } from '../support/celery-peer';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class StampedTasks {
  /** Retries once, then returns the stamps it arrived with: the retry must have kept them. */
  @CeleryTask('st.seen')
  seen(): { stamped_headers: unknown; stamps: unknown; retries: number; context: unknown } {
    const { headers, retries, stamps } = currentTask();
    if (retries === 0) return currentTask().retry({ countdown: 0 });
    return { stamped_headers: headers.stamped_headers ?? null, stamps: headers.stamps ?? null, retries, context: stamps };
  }

  /** Runs until aborted (or 20 s): a task to terminate. */
  @CeleryTask('st.wait')
  async wait(): Promise<string> {
    const { signal } = currentTask();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return 'finished';
  }

  /** A step of py.replace_with_nest's replacement: the nesting header it arrived with. */
  @CeleryTask('st.nesting')
  nesting(previous: unknown): { previous: unknown; nesting: unknown } {
    return { previous, nesting: currentTask().headers.replaced_task_nesting ?? null };
  }
}

/**
 * What Celery 5.3+ added to task messages, with the peer Celery: stamps (the canvas Stamping API),
 * `revoke_by_stamped_headers` and `replaced_task_nesting`. Celery 5.2.6 has none of them: against
 * it, the same wire (written by hand where 5.2 has no API) checks that our side works and that
 * 5.2 is not disturbed by the headers.
 */
describe(`stamps, revoke_by_stamped_headers and replaced_task_nesting with ${CELERY_PEER.name}`, () => {
  const stampsReadByPython = peerIsAtLeast('5.3');
  const nestingWritten = peerIsAtLeast('5.6');
  const pythonQueue = uniqueName('it-stamps-python');
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let python: PythonWorker;
  let client: CeleryClient;
  const settings = () => ({ resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: env.queue });

  beforeAll(async () => {
    env = await createTestEnvironment('it-stamps');
    env.alsoRemove(pythonQueue);
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, [StampedTasks]);
    client = app.get(CeleryClient);
    python = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl) });
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await env?.dispose();
  });

  /** A Python client sends `st.seen` stamped `{mystamp: value}`: with the Stamping API on 5.3+, by hand (the same headers) before. */
  function pythonSendsStamped(value: string): Promise<string> {
    const send = peerIsAtLeast('5.3')
      ? `sig = app.signature('st.seen', queue=${JSON.stringify(env.queue)}); sig.stamp(mystamp=${JSON.stringify(value)}); result = sig.apply_async()`
      : `result = app.send_task('st.seen', queue=${JSON.stringify(env.queue)}, headers={'stamped_headers': ['mystamp'], 'stamps': {'mystamp': ${JSON.stringify(value)}}})`;
    return runInteropClient(`import json\nfrom interop_tasks import app\n${send}\nprint(json.dumps(result.id))`, settings());
  }

  it('keeps the stamps of a Python-stamped task through our retry', async () => {
    const id = await pythonSendsStamped('kept');
    expect(await client.asyncResult(id).get({ timeout: 20_000 })).toEqual({ stamped_headers: ['mystamp'], stamps: { mystamp: 'kept' }, retries: 1, context: { mystamp: 'kept' } });
  }, 60_000);

  it('sends the stamps of our stamped chain through our retry and our chain step to the Python step', async () => {
    const stamped = chain(signature('st.seen'), signature('py.stamps', [], {}, { queue: pythonQueue })).stamp({ mystamp: 'ours' });
    const last = await stamped.bind(client).applyAsync();
    const pythonSaw = await last.get({ timeout: 30_000 });
    // 5.3+ reads them as stamps; 5.2 as two application headers of those names, which its request exposes alike.
    expect(pythonSaw).toEqual({ stamped_headers: ['mystamp'], stamps: { mystamp: 'ours' } });
  }, 60_000);

  it('discards as REVOKED what carries a stamp Python revoked by revoke_by_stamped_headers, and runs the rest', async () => {
    const ours = app.get(CeleryWorker).hostname;
    const revokeCall = stampsReadByPython
      ? `app.control.revoke_by_stamped_headers({'mystamp': 'bad'}, destination=[${JSON.stringify(ours)}], reply=True, timeout=5)`
      : `app.control.broadcast('revoke_by_stamped_headers', arguments={'headers': {'mystamp': 'bad'}, 'terminate': False, 'signal': 'SIGTERM'}, destination=[${JSON.stringify(ours)}], reply=True, timeout=5)`;
    const replies = await runInteropClient(`import json\nfrom interop_tasks import app\nprint(json.dumps(${revokeCall}))`, settings());
    expect(replies).toEqual([{ [ours]: { ok: "headers {'mystamp': 'bad'} flagged as revoked, but not terminated" } }]);

    const [bad, good] = [await pythonSendsStamped('bad'), await pythonSendsStamped('good')];
    const states = await runInteropClient<Record<string, string>>(
      `import json
from interop_tasks import app
good = app.AsyncResult(${JSON.stringify(good)}); good.get(timeout=20)
bad = app.AsyncResult(${JSON.stringify(bad)})
try:
    bad.get(timeout=20)
except Exception as error:
    pass
print(json.dumps({'good': good.state, 'bad': bad.state}))`,
      settings(),
    );
    expect(states).toEqual({ good: 'SUCCESS', bad: 'REVOKED' });
  }, 60_000);

  it('terminates our running task a stamp revoked with terminate=True names, with Celery\'s reply', async () => {
    const worker = app.get(CeleryWorker);
    const running = await client.send('st.wait', [], { stamps: { mystamp: ['long', 'other'] } });
    await eventually(async () => (worker.activeTasks().some((task) => task.message.id === running.id) ? true : undefined), 10_000, 'st.wait to run');
    const revokeCall = `app.control.broadcast('revoke_by_stamped_headers', arguments={'headers': {'mystamp': 'long'}, 'terminate': True, 'signal': 'SIGTERM'}, destination=[${JSON.stringify(worker.hostname)}], reply=True, timeout=5)`;
    const replies = await runInteropClient(`import json\nfrom interop_tasks import app\nprint(json.dumps(${revokeCall}))`, settings());
    expect(replies).toEqual([{ [worker.hostname]: { ok: "headers defaultdict(<class 'set'>, {'mystamp': {'long'}}) revoked" } }]);
    await expect(running.get({ timeout: 10_000 })).rejects.toThrow(/terminated/);
    expect(await running.state()).toBe('REVOKED');
  }, 60_000);

  it('revokes by stamp on the Python worker through our control client (5.3+), which 5.2 does not know', async () => {
    const replies = await client.control.revokeByStampedHeaders({ mystamp: ['x', 'blocked'] }, { destination: [python.nodename], reply: true, timeout: 5_000 });
    const blocked = await client.send('py.stamps', [], { queue: pythonQueue, stamps: { mystamp: 'blocked' } });
    const allowed = await client.send('py.stamps', [], { queue: pythonQueue, stamps: { mystamp: 'allowed' } });
    await allowed.get({ timeout: 20_000 });
    if (stampsReadByPython) {
      expect(replies).toEqual([{ [python.nodename]: { ok: "headers {'mystamp': ['x', 'blocked']} flagged as revoked, but not terminated" } }]);
      await expect(blocked.get({ timeout: 20_000 })).rejects.toThrow(/revoked/i);
      expect(await blocked.state()).toBe('REVOKED');
    } else {
      expect(replies).toEqual([{ [python.nodename]: { error: expect.stringMatching(/revoke_by_stamped_headers/) } }]);
      // Run, not revoked: 5.2 has no revoked stamps.
      expect(await blocked.get({ timeout: 20_000 })).toEqual({ stamped_headers: ['mystamp'], stamps: { mystamp: 'blocked' } });
    }
  }, 60_000);

  it('keeps replaced_task_nesting on the steps of a replacement, through our chain step', async () => {
    const nested = await runInteropClient(
      `import json
from interop_tasks import app
result = app.send_task('py.replace_with_nest', args=[${JSON.stringify(env.queue)}], queue=${JSON.stringify(pythonQueue)})
print(json.dumps(result.get(timeout=30)))`,
      settings(),
    );
    // Celery 5.6 marks the replacement's tasks with nesting 1: the first in the header Python
    // wrote, the second in the chain option our worker turned into its header. 5.2 writes none.
    const level = nestingWritten ? 1 : null;
    expect(nested).toEqual({ previous: { previous: null, nesting: level }, nesting: level });
  }, 60_000);
});

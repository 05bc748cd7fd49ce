import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * A remote `shutdown` ends the process with exit code 0 after a warm shutdown, as a Python worker
 * exits, in any app and without app code — sent exactly as Flower's "Shut down" button sends it
 * (flower/api/control.py WorkerShutDown: `self.capp.control.broadcast('shutdown', destination=[workername])`).
 */
describe('a remote shutdown', () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('it-remote-shutdown');
  });

  afterAll(async () => {
    await env?.dispose();
  });

  /** Starts the app, has Python run `shutdown.nap(1)` on it, shuts it down mid-task as Flower does; returns what Python saw. */
  async function shutDownMidTask(mode: 'hooks' | 'bare' | 'microservice'): Promise<{ app: SampleProcess; node: string; result: unknown }> {
    const node = `nest-shutdown-${mode}-${randomBytes(4).toString('hex')}@${hostname()}`;
    const app = startNodeProcess([join(ROOT, 'test', 'support', 'remote-shutdown-process.js')], {
      REMOTE_SHUTDOWN_MODE: mode,
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
      CELERY_QUEUES: env.queue,
      CELERY_HOSTNAME: node,
    });
    await app.waitForOutput(/ready/);
    const output = await runPython(
      `
import json, time
from celery import Celery
app = Celery(broker=${JSON.stringify(RABBITMQ_URL)}, backend=${JSON.stringify(celeryDatabaseUrl(env.databaseUrl))})
result = app.send_task('shutdown.nap', args=[1], queue=${JSON.stringify(env.queue)})
inspect = app.control.inspect(destination=[${JSON.stringify(node)}], timeout=1)
deadline = time.time() + 15
while time.time() < deadline:
    active = (inspect.active() or {}).get(${JSON.stringify(node)}) or []
    if any(task['id'] == result.id for task in active):
        break
else:
    raise SystemExit('the task never became active on ' + ${JSON.stringify(node)})
app.control.broadcast('shutdown', destination=[${JSON.stringify(node)}])
print(json.dumps({'result': result.get(timeout=15)}))
`,
      { timeoutMs: 45_000 },
    );
    return { app, node, result: JSON.parse(output).result };
  }

  it('ends an app with shutdown hooks with exit code 0, after its running task finished and every module closed', async () => {
    const { app, result } = await shutDownMidTask('hooks');
    expect(result).toBe(1);
    expect(await app.exited).toBe(0);
    expect(app.output()).toMatch(/app closed/);
  });

  it('ends an app without shutdown hooks with exit code 0 too', async () => {
    const { app, result } = await shutDownMidTask('bare');
    expect(result).toBe(1);
    expect(await app.exited).toBe(0);
  });

  it('ends a CeleryServer microservice with exit code 0', async () => {
    const { app, result } = await shutDownMidTask('microservice');
    expect(result).toBe(1);
    expect(await app.exited).toBe(0);
    expect(app.output()).toMatch(/app closed/);
  });
});

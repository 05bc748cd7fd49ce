import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryTask, currentTask } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { redisUrl } from '../support/redis';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** A Redis database of this file's own. */
const REDIS_DB = 13;

/** Running `progress.report` tasks, by id: each waits until `progress.release` names it. */
const waiting = new Map<string, () => void>();

@Injectable()
class ProgressTasks {
  /** Reports celery-progress's first step, then holds until released, so a reader sees it running. */
  @CeleryTask({ name: 'progress.report' })
  async report(total: number): Promise<string> {
    const task = currentTask();
    const released = new Promise<void>((resolve) => waiting.set(task.id, resolve));
    await task.setProgress(1, total, 'first step');
    await released;
    waiting.delete(task.id);
    return 'done';
  }

  @CeleryTask({ name: 'progress.release' })
  release(taskId: string): boolean {
    const release = waiting.get(taskId);
    release?.();
    return release !== undefined;
  }

  /** Celery's `update_state(task_id=other, …)`: the state of another task. */
  @CeleryTask({ name: 'progress.mark' })
  async mark(otherId: string): Promise<void> {
    await currentTask().updateState({ taskId: otherId, state: 'CHECKED', meta: { by: 'nest', at: [1, 2] } });
  }
}

/**
 * Python Celery sends `progress.report` to our worker and reads it while it runs, with its own
 * AsyncResult and with Django's celery-progress (`Progress(result).get_info()`, what its bar
 * polls), then after it finished. Python has no way to wait for a state that is not ready: it
 * polls `.state`, as celery-progress's view does.
 */
const PYTHON_READER = `
import json, os, time
from celery import Celery
from celery_progress.backend import Progress

app = Celery(broker=os.environ['BROKER_URL'], backend=os.environ['RESULT_BACKEND'])
queue = os.environ['QUEUE']

def seen(result):
    return {'state': result.state, 'info': result.info, 'get_info': Progress(result).get_info()}

report = app.send_task('progress.report', (4,), queue=queue)
deadline = time.time() + 30
while report.state != 'PROGRESS':
    if time.time() > deadline:
        raise SystemExit('no PROGRESS state within 30 s; last state ' + report.state)
    time.sleep(0.05)
running = seen(report)
app.send_task('progress.release', (report.id,), queue=queue)
value = report.get(timeout=30)
output = {'running': running, 'value': value, 'finished': seen(report)}
if os.environ.get('MARK_OTHER'):
    other = 'other-' + report.id
    app.send_task('progress.mark', (other,), queue=queue).get(timeout=30)
    output['other'] = {'state': app.AsyncResult(other).state, 'info': app.AsyncResult(other).info}
print(json.dumps(output))
`;

const RUNNING_AS_CELERY_PROGRESS_SHOWS_IT = {
  state: 'PROGRESS',
  info: { pending: false, current: 1, total: 4, percent: 25, description: 'first step' },
  get_info: { state: 'PROGRESS', complete: false, success: null, progress: { pending: false, current: 1, total: 4, percent: 25, description: 'first step' } },
};

const FINISHED = {
  state: 'SUCCESS',
  info: 'done',
  get_info: { state: 'SUCCESS', complete: true, success: true, progress: { pending: false, current: 100, total: 100, percent: 100 }, result: 'done' },
};

describe.each([
  ['PostgreSQL', 'postgres'],
  ['Redis', 'redis'],
  ['rpc://', 'rpc'],
] as const)('Progress of a Nest task read by Python Celery and celery-progress (%s)', (_label, kind) => {
  let environment: TestEnvironment;
  let app: INestApplicationContext;
  let pythonBackend: string;

  beforeAll(async () => {
    environment = await createTestEnvironment(`it-progress-${kind}`);
    const backend = kind === 'postgres' ? environment.databaseUrl : kind === 'redis' ? redisUrl(REDIS_DB) : 'rpc://';
    pythonBackend = kind === 'postgres' ? celeryDatabaseUrl(environment.databaseUrl) : backend;
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend, defaultQueue: environment.queue }, [ProgressTasks]);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await environment?.dispose();
  });

  it('shows PROGRESS with its meta while the task runs, then the final state in its place', async () => {
    const env = { BROKER_URL: `${RABBITMQ_URL}//`, RESULT_BACKEND: pythonBackend, QUEUE: environment.queue, MARK_OTHER: kind === 'rpc' ? '' : '1' };
    const output = JSON.parse((await runPython(PYTHON_READER, { env, timeoutMs: 90_000 })).trim().split('\n').pop()!);
    expect(output.running).toEqual(RUNNING_AS_CELERY_PROGRESS_SHOWS_IT);
    expect(output.value).toBe('done');
    expect(output.finished).toEqual(FINISHED);
    // Another task's state (update_state(task_id=…)) is stored where Python reads it; rpc:// sends
    // it to the running task's caller, as Celery does, so only the shared stores are checked.
    if (kind !== 'rpc') expect(output.other).toEqual({ state: 'CHECKED', info: { by: 'nest', at: [1, 2] } });
  }, 120_000);
});

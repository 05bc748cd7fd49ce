import { INestApplicationContext, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { AsyncResult, CeleryClient, CeleryTask, currentTask, TaskProgress } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { startPythonWorker } from '../support/python-worker';
import { celeryDatabaseUrl, runPython } from '../support/python-celery';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { redisUrl } from '../support/redis';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** A Redis database of this file's own (the bench flushes 10, 13 and 14; other specs use 7–9 and 11). */
const REDIS_DB = 12;

/** Running `progress.report` and `progress.steps` tasks, by id: each waits until released. */
const waiting = new Map<string, () => void>();

/** `progress.late` tasks' setProgress, kept to be called after the task returned. */
const lateReports = new Map<string, () => Promise<void>>();

/** When each step of `progress.steps` was stored (`<task id>:<step>` → epoch ms). */
const storedAt = new Map<string, number>();

function holdUntilReleased(taskId: string): Promise<void> {
  return new Promise<void>((resolve) => waiting.set(taskId, resolve));
}

function release(taskId: string): void {
  const resume = waiting.get(taskId);
  if (!resume) throw new Error(`task ${taskId} is not waiting`);
  waiting.delete(taskId);
  resume();
}

@Injectable()
class ProgressTasks {
  /** Reports celery-progress's first step, then holds until released, so a reader sees it running. */
  @CeleryTask({ name: 'progress.report' })
  async report(total: number): Promise<string> {
    const task = currentTask();
    const released = holdUntilReleased(task.id);
    await task.setProgress(1, total, 'first step');
    await released;
    return 'done';
  }

  @CeleryTask({ name: 'progress.release' })
  release(taskId: string): void {
    release(taskId);
  }

  /** Returns at once, leaving behind a report that comes too late. */
  @CeleryTask({ name: 'progress.late' })
  late(): string {
    const task = currentTask();
    lateReports.set(task.id, () => task.setProgress(1, 1, 'too late'));
    return 'finished';
  }

  /** Each step reported, then held until the test releases it. */
  @CeleryTask({ name: 'progress.steps' })
  async steps(total: number): Promise<number> {
    const task = currentTask();
    for (let step = 1; step <= total; step++) {
      const released = holdUntilReleased(task.id);
      await task.setProgress(step, total, `step ${step}`);
      storedAt.set(`${task.id}:${step}`, Date.now());
      await released;
    }
    return total;
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

/**
 * A Django 3.2 project (test/python/djproj) with celery-progress's URLs: its view
 * `/celery-progress/<task_id>/` is what the celery-progress bar's JavaScript polls and renders.
 */
const DJANGO_PROJECT = join(__dirname, '..', 'python', 'djproj');
const DJANGO_VIEW = `
import json, os, time, django
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djproj.settings')
django.setup()
from django.test import Client
from djproj.celery import app

queue = os.environ['QUEUE']
browser = Client()
def view(task_id):
    response = browser.get('/celery-progress/%s/' % task_id)
    return {'status': response.status_code, 'json': json.loads(response.content)}

report = app.send_task('progress.report', (4,), queue=queue)
deadline = time.time() + 30
while view(report.id)['json']['state'] != 'PROGRESS':
    if time.time() > deadline:
        raise SystemExit('the view showed no PROGRESS within 30 s')
    time.sleep(0.05)
running = view(report.id)
app.send_task('progress.release', (report.id,), queue=queue)
report.get(timeout=30)
print(json.dumps({'running': running, 'finished': view(report.id)}))
`;

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

  // The view runs in the web process, which in a real deployment did not send the task: with
  // rpc:// it could not read it (and Celery's own rpc:// forgets a result once get() consumed it).
  if (kind !== 'rpc') {
    it("renders in a Django project's celery-progress view, the JSON its progress bar draws", async () => {
      const env = {
        DJANGO_CELERY_BROKER_URL: `${RABBITMQ_URL}//`,
        DJANGO_CELERY_RESULT_BACKEND: pythonBackend,
        QUEUE: environment.queue,
      };
      const output = JSON.parse((await runPython(DJANGO_VIEW, { env, pythonPath: [DJANGO_PROJECT], timeoutMs: 90_000 })).trim().split('\n').pop()!);
      expect(output.running).toEqual({ status: 200, json: RUNNING_AS_CELERY_PROGRESS_SHOWS_IT.get_info });
      expect(output.finished).toEqual({ status: 200, json: FINISHED.get_info });
    }, 120_000);
  }
});

/** Collects what `result.watch()` yields, with when it came. */
function watchAll(iteration: AsyncIterable<TaskProgress>): { seen: { progress: TaskProgress; at: number }[]; done: Promise<void> } {
  const seen: { progress: TaskProgress; at: number }[] = [];
  const done = (async () => {
    for await (const progress of iteration) seen.push({ progress, at: Date.now() });
  })();
  return { seen, done };
}

/**
 * The task's progress as soon as this process can know it. A shared store (PostgreSQL, Redis,
 * memory://) has a state once setProgress resolved. rpc:// has it only once the reply reached this
 * process's reply queue, and setProgress resolves on the broker's publish confirm, which can come
 * before that delivery (a read right after it saw PENDING in 34 of 300 tries): so for rpc:// this
 * waits for the reply, and still checks whatever state it brought.
 */
async function progressOnceArrived(result: AsyncResult, kind: string): Promise<TaskProgress> {
  if (kind !== 'rpc') return result.progress();
  return eventually(async () => {
    const progress = await result.progress();
    return progress.state === 'PENDING' ? undefined : progress;
  }, 10_000, 'the reply with the stored state');
}

const step = (current: number, total: number) => ({
  state: 'PROGRESS',
  meta: { pending: false, current, total, percent: Math.round((current / total) * 10_000) / 100, description: `step ${current}` },
});

describe.each([
  ['PostgreSQL', 'postgres'],
  ['Redis', 'redis'],
  ['rpc://', 'rpc'],
  ['memory://', 'memory'],
] as const)('AsyncResult.progress() and watch() (%s)', (_label, kind) => {
  let environment: TestEnvironment;
  let app: INestApplicationContext;
  let client: CeleryClient;

  beforeAll(async () => {
    environment = await createTestEnvironment(`it-watch-${kind}`);
    const backend = kind === 'postgres' ? environment.databaseUrl : kind === 'redis' ? redisUrl(REDIS_DB) : kind === 'rpc' ? 'rpc://' : `memory://progress-${environment.queue}`;
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend, defaultQueue: environment.queue }, [ProgressTasks]);
    client = app.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await environment?.dispose();
  });

  it('yields each reported step as it is stored, woken by the backend rather than a poll, then the result', async () => {
    const result = await client.send('progress.steps', [2]);
    const watching = watchAll(result.watch({ timeout: 30_000 }));
    await eventually(() => (waiting.has(result.id) && storedAt.has(`${result.id}:1`)) || undefined, 15_000, 'step 1 stored');
    expect(await progressOnceArrived(result, kind)).toEqual(step(1, 2));
    await eventually(() => watching.seen.find((seen) => seen.progress.state === 'PROGRESS') ?? undefined, 10_000, 'step 1 seen');

    // Silence first, so that a watcher that polled would be at its longest pause (2 s) by now…
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    release(result.id);
    const second = await eventually(() => watching.seen.find((seen) => (seen.progress.meta as { current?: number })?.current === 2), 10_000, 'step 2 seen');
    // …yet the store wakes it at once.
    expect(second.at - storedAt.get(`${result.id}:2`)!).toBeLessThan(500);

    release(result.id);
    await watching.done;
    const states = watching.seen.map((seen) => seen.progress).filter((progress) => progress.state !== 'PENDING');
    expect(states).toEqual([step(1, 2), step(2, 2), { state: 'SUCCESS', meta: 2 }]);
    expect(await result.progress()).toEqual({ state: 'SUCCESS', meta: 2 });
    expect(await result.get({ timeout: 5_000 })).toBe(2);
  }, 60_000);

  it('refuses a report made after the task returned, keeping the final state', async () => {
    const result = await client.send('progress.late', []);
    expect(await result.get({ timeout: 10_000 })).toBe('finished');
    await expect(lateReports.get(result.id)!()).rejects.toThrow(/after the task's run ended: its final state is stored and would be overwritten/);
    expect(await result.progress()).toEqual({ state: 'SUCCESS', meta: 'finished' });
  });

  it('starts with PENDING for a task nothing is stored for, and ends with ResultTimeoutError', async () => {
    const unknown = client.asyncResult(`never-sent-${environment.queue}`);
    expect(await unknown.progress()).toEqual({ state: 'PENDING', meta: null });
    const watching = watchAll(unknown.watch({ timeout: 300 }));
    await expect(watching.done).rejects.toThrow(/was not ready within 300 ms \(state: PENDING\)/);
    expect(watching.seen.map((seen) => seen.progress)).toEqual([{ state: 'PENDING', meta: null }]);
  });

  if (kind !== 'memory') {
    it("sees a Python task's update_state (celery-progress's ProgressRecorder) step by step", async () => {
      const pythonQueue = `${environment.queue}-py`;
      environment.alsoRemove(pythonQueue);
      const resultBackend = kind === 'postgres' ? celeryDatabaseUrl(environment.databaseUrl) : kind === 'redis' ? redisUrl(REDIS_DB) : 'rpc://';
      const python = await startPythonWorker({ queues: [pythonQueue], resultBackend });
      try {
        const result = await client.send('py.progress', [3, 0.5], { queue: pythonQueue });
        const watching = watchAll(result.watch({ timeout: 30_000 }));
        await watching.done;
        const states = watching.seen.map((seen) => seen.progress).filter((progress) => progress.state !== 'PENDING');
        expect(states).toEqual([step(1, 3), step(2, 3), step(3, 3), { state: 'SUCCESS', meta: 3 }]);
      } finally {
        await python.stop();
      }
    }, 90_000);
  }
});

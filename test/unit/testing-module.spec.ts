import { CanActivate, Injectable, UseGuards } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { AsyncResult, CeleryClient, CeleryTask, chain, chord, currentTask, group, TaskFailedError, TaskSignals } from '../../lib';
import { InvalidCeleryOptionsError } from '../../lib/advanced';
import { MemoryResultBackend } from '../../lib/backend/memory/memory-result-backend';
import { CELERY_RUNTIME } from '../../lib/celery.constants';
import type { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { CeleryTesting, CeleryTestingModule, CeleryTestingModuleOptions } from '../../lib/testing';
import { EagerBroker } from '../../lib/testing/eager-broker';

/**
 * nestjs-celery/testing's module (issue #14 item 8): CeleryModule on the in-process broker and
 * results, built per compiled module, with the record of tasks sent and Celery's
 * task_always_eager. No server; each test compiles its own module.
 */

class NeverAllowed implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Injectable()
class MathTasks {
  readonly runs: string[] = [];

  constructor(private readonly celery: CeleryClient) {}

  @CeleryTask({ name: 'tasks.add' })
  add(x: number, y: number) {
    this.runs.push(`add ${x} ${y}`);
    return x + y;
  }

  @CeleryTask({ name: 'tasks.sum' })
  sum(values: number[]) {
    return values.reduce((total, value) => total + value, 0);
  }

  /** Succeeds on its third try, each retry asking for a minute's wait. */
  @CeleryTask({ name: 'tasks.flaky', maxRetries: 5 })
  flaky() {
    const task = currentTask();
    this.runs.push(`flaky try ${task.retries}`);
    if (task.retries < 2) task.retry({ countdown: 60 });
    return task.retries;
  }

  @CeleryTask({ name: 'tasks.hopeless', maxRetries: 2 })
  hopeless() {
    currentTask().retry({ countdown: 60, error: new Error('still down') });
  }

  @CeleryTask({ name: 'tasks.fail' })
  fail() {
    throw new RangeError('out of range');
  }

  /** Sends a child and waits for its result from inside the task, as Celery's eager mode allows. */
  @CeleryTask({ name: 'tasks.double_sum' })
  async doubleSum(x: number, y: number) {
    const child = await this.celery.send<number>('tasks.add', [x, y]);
    return 2 * (await child.get({ timeout: 1000 }));
  }

  @CeleryTask({ name: 'tasks.forbidden' })
  @UseGuards(NeverAllowed)
  forbidden() {
    return 'ran';
  }
}

const modules: TestingModule[] = [];
/** The failures these tests cause on purpose would be logged at ERROR. */
const SILENT = { log() {}, error() {}, warn() {} };

async function start(options: CeleryTestingModuleOptions, beforeInit?: (moduleRef: TestingModule) => void): Promise<{ moduleRef: TestingModule; celery: CeleryClient; testing: CeleryTesting; tasks: MathTasks }> {
  const moduleRef = await Test.createTestingModule({ imports: [CeleryTestingModule.forRoot(options)], providers: [MathTasks] })
    .setLogger(SILENT)
    .compile();
  modules.push(moduleRef);
  beforeInit?.(moduleRef);
  await moduleRef.init();
  return { moduleRef, celery: moduleRef.get(CeleryClient), testing: moduleRef.get(CeleryTesting), tasks: moduleRef.get(MathTasks) };
}

afterEach(async () => {
  for (const moduleRef of modules.splice(0)) await moduleRef.close();
});

describe('CeleryTestingModule', () => {
  // How fast it starts (the target is under 200 ms; the embedded PGlite took 4–11 s) is measured by the
  // bench (scenario 10, 'CeleryTestingModule compile + init'), not asserted here: a timed test fails on a busy machine.
  it('starts on the in-process broker and results, with no database or server to start', async () => {
    const { moduleRef, celery } = await start({ alwaysEager: true });
    const { broker, backend, worker } = moduleRef.get<CeleryRuntime>(CELERY_RUNTIME).parts;
    expect(broker).toBeInstanceOf(EagerBroker);
    expect(backend).toBeInstanceOf(MemoryResultBackend);
    expect(worker).toBeDefined();
    expect(await (await celery.send('tasks.add', [1, 2])).get({ timeout: 1000 })).toBe(3);
  });

  it('records what the app sent, as the call gave it, and runs nothing without a worker', async () => {
    const { celery, testing } = await start({ taskRoutes: { 'emails.*': 'emails' } });
    const result = await celery.send('tasks.add', [2, 2], { countdown: 60, headers: { tenant: 'acme' } });
    await celery.send('emails.welcome', ['ada@example.com'], { kwargs: { locale: 'en' } });

    expect(await result.state()).toBe('PENDING');
    const sent = testing.expectTaskSent('tasks.add', [2, 2], { countdown: 60 });
    expect(sent).toMatchObject({ id: result.id, queue: 'celery', headers: { tenant: 'acme' }, options: { countdown: 60, headers: { tenant: 'acme' } } });
    expect(sent.eta!.getTime()).toBeGreaterThan(Date.now() + 59_000);
    testing.expectTaskSent('emails.welcome', ['ada@example.com'], { queue: 'emails', kwargs: { locale: 'en' } });
    expect(testing.sentTasks().map((task) => task.name)).toEqual(['tasks.add', 'emails.welcome']);

    expect(() => testing.expectTaskSent('tasks.add', [2, 3])).toThrow(/Expected tasks\.add with args \[ 2, 3 \] to have been sent\.\nSent tasks\.add:\n {2}- tasks\.add args \[ 2, 2 \]/);
    expect(() => testing.expectTaskSent('tasks.add', [2, 2], { countdown: 30 })).toThrow(/options \{ countdown: 30 \}/);
    expect(() => testing.expectNoTaskSent('emails.welcome')).toThrow(/Expected no emails\.welcome to have been sent, but 1 were/);
    testing.clearSentTasks();
    testing.expectNoTaskSent();
  });

  it('gives each compiled module its own broker, results and record, even from one forRoot()', async () => {
    const shared = CeleryTestingModule.forRoot({ alwaysEager: true });
    const compile = async () => {
      const moduleRef = await Test.createTestingModule({ imports: [shared], providers: [MathTasks] }).setLogger(SILENT).compile();
      modules.push(moduleRef);
      await moduleRef.init();
      return moduleRef;
    };
    const [first, second] = [await compile(), await compile()];
    const result = await first.get(CeleryClient).send('tasks.add', [1, 1]);

    expect(await result.get()).toBe(2);
    expect(first.get(CeleryTesting).sentTasks()).toHaveLength(1);
    expect(second.get(CeleryTesting).sentTasks()).toHaveLength(0);
    expect(await second.get(CeleryClient).asyncResult(result.id).state()).toBe('PENDING');
  });

  it('refuses options that cannot work, naming them', () => {
    expect(() => CeleryTestingModule.forRoot({ alwaysEager: true, worker: false })).toThrow(InvalidCeleryOptionsError);
    expect(() => CeleryTestingModule.forRoot({ alwaysEagre: true } as CeleryTestingModuleOptions)).toThrow(/alwaysEagre is not an option: did you mean alwaysEager\?/);
  });
});

describe('alwaysEager (Celery task_always_eager)', () => {
  it('runs a task when it is sent: the AsyncResult is already done, countdown and eta ignored but recorded', async () => {
    const { celery, testing, tasks } = await start({ alwaysEager: true });
    const result = await celery.send<number>('tasks.add', [2, 2], { countdown: 3600 });

    expect(tasks.runs).toEqual(['add 2 2']);
    expect(await result.state()).toBe('SUCCESS');
    expect(await result.get({ timeout: 1 })).toBe(4);
    testing.expectTaskSent('tasks.add', [2, 2], { countdown: 3600 });
  });

  it('runs a retry again at once, retries + 1, until it succeeds', async () => {
    const { celery, tasks } = await start({ alwaysEager: true });
    const result = await celery.send('tasks.flaky');

    expect(tasks.runs).toEqual(['flaky try 0', 'flaky try 1', 'flaky try 2']);
    expect(await result.info()).toMatchObject({ status: 'SUCCESS', result: 2, retries: 2 });
  });

  it('stores the failure of a task whose retries ran out, and get() throws it', async () => {
    const { celery } = await start({ alwaysEager: true });
    const result = await celery.send('tasks.hopeless');

    expect(await result.state()).toBe('FAILURE');
    await expect(result.get({ timeout: 1 })).rejects.toMatchObject({ excType: 'MaxRetriesExceededError', message: expect.stringContaining('still down') });
  });

  it('stores a failure as a worker does: get() rejects with TaskFailedError', async () => {
    const { celery } = await start({ alwaysEager: true });
    const result = await celery.send('tasks.fail');

    expect(await result.state()).toBe('FAILURE');
    const error = await result.get({ timeout: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ excType: 'ValueError', excJsType: 'RangeError', excMessage: ['out of range'] });
  });

  it('settles what does not run as a worker does: an expired task REVOKED, arguments that do not fit refused', async () => {
    const { celery, tasks } = await start({ alwaysEager: true });
    const expired = await celery.send('tasks.add', [1, 1], { expires: new Date(Date.now() - 1000) });
    const refused = await celery.send('tasks.add', [1, 2, 3]);

    expect(tasks.runs).toEqual([]);
    expect(await expired.state()).toBe('REVOKED');
    expect(await refused.state()).toBe('FAILURE');
    await expect(refused.get({ timeout: 1 })).rejects.toMatchObject({ excType: 'TypeError' });
  });

  it('runs through the task\'s guards, as the worker does', async () => {
    const { celery } = await start({ alwaysEager: true });
    const result = await celery.send('tasks.forbidden');

    await expect(result.get({ timeout: 1 })).rejects.toMatchObject({ excType: 'ForbiddenException' });
  });

  it('resolves once the app\'s task hooks are done too, slow ones included', async () => {
    const heard: string[] = [];
    // Before init, as the explorer registers @OnTaskEvent() methods.
    const { celery } = await start({ alwaysEager: true }, (moduleRef) => {
      for (const event of ['success', 'postrun'] as const) {
        moduleRef.get(TaskSignals).on(event, async ({ task }) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          heard.push(`${event} ${task.name} try ${task.retries}`);
        });
      }
    });

    await celery.send('tasks.flaky');
    expect(heard).toEqual(['success tasks.flaky try 2', 'postrun tasks.flaky try 2', 'postrun tasks.flaky try 1', 'postrun tasks.flaky try 0']);
  });

  it('runs a task a task sends, inside it, as its child', async () => {
    const { celery, testing } = await start({ alwaysEager: true });
    const result = await celery.send('tasks.double_sum', [2, 3]);

    expect(await result.get({ timeout: 1 })).toBe(10);
    expect(testing.expectTaskSent('tasks.add', [2, 3]).parentId).toBe(result.id);
  });

  it('runs chains, groups and chords to the end before applyAsync() resolves', async () => {
    const { celery, testing } = await start({ alwaysEager: true });
    const add = (...args: number[]) => celery.signature('tasks.add', args);

    const chained = await chain(add(1, 2), add(10), add(100)).applyAsync();
    expect(await chained.state()).toBe('SUCCESS');
    expect(await chained.get({ timeout: 1 })).toBe(113);

    const grouped = await group([add(1, 1), add(2, 2)]).applyAsync();
    expect(await grouped.ready()).toBe(true);
    expect(await grouped.get({ timeout: 1 })).toEqual([2, 4]);

    const joined = await chord([add(1, 1), add(2, 2), add(3, 3)], celery.signature('tasks.sum')).applyAsync();
    expect(await joined.state()).toBe('SUCCESS');
    expect(await joined.get({ timeout: 1 })).toBe(12);
    expect(testing.sentTasks('tasks.sum')).toHaveLength(1);
  });

  it('only sends a task this app does not have (a Python one): it stays PENDING, recorded', async () => {
    const { celery, testing } = await start({ alwaysEager: true });
    const result = await celery.send('billing.python_task', [1]);

    expect(await result.state()).toBe('PENDING');
    testing.expectTaskSent('billing.python_task', [1]);
  });
});

describe('with a worker (not eager)', () => {
  it('sends as in production: send() returns before the run, get() waits for it', async () => {
    const { celery, tasks } = await start({ worker: { concurrency: 2 } });
    const result: AsyncResult<number> = await celery.send<number>('tasks.add', [20, 22]);

    expect(tasks.runs).toEqual([]);
    expect(await result.get({ timeout: 2000 })).toBe(42);
    expect(tasks.runs).toEqual(['add 20 22']);
  });
});

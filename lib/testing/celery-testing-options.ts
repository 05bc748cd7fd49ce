import { randomUUID } from 'node:crypto';
import { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
import type { CeleryModuleOptions } from '../runtime/celery-module-options';
import { optionKeys, unknownKeyProblems } from '../utils/option-keys';
import type { WorkerModuleOptions } from '../worker/worker-module-options';

/**
 * Options of `CeleryTestingModule.forRoot()`. The broker and the result backend are always the
 * in-process ones (`memory://`), private to each compiled module; routing options are the app's own.
 */
export interface CeleryTestingModuleOptions extends Pick<CeleryModuleOptions, 'defaultQueue' | 'queues' | 'taskRoutes' | 'isGlobal'> {
  /**
   * Run the app's own tasks when they are sent (Celery's `task_always_eager`): `send()` resolves
   * once the task ran and its outcome is stored, so the AsyncResult is already done. It runs
   * through the worker (guards, interceptors, signals, retries, chains, groups and chords as in
   * production); `countdown` and `eta` are ignored and a retry runs again at once, as in Celery.
   * Tasks the app does not have (Python's) are only sent. Default false.
   */
  alwaysEager?: boolean;
  /**
   * A worker that consumes the in-memory broker as a production worker does (Celery's
   * `celery_worker` pytest fixture): `send()` returns at once, `await result.get()` waits for the
   * run. true, or worker options (`queues`, `acksLate`…). With `alwaysEager` the options apply to
   * the eager runs, concurrency aside (eager runs nest without limit). Default: no worker, unless
   * `alwaysEager`: tasks sent are recorded and stay queued.
   */
  worker?: boolean | WorkerModuleOptions;
}

export const CELERY_TESTING_OPTION_KEYS = optionKeys<CeleryTestingModuleOptions>()('alwaysEager', 'worker', 'defaultQueue', 'queues', 'taskRoutes', 'isGlobal');

/**
 * Eager runs nest: a task that sends another holds its slot while that one runs, as a chain step
 * holds its own while the next is delivered from its settlement. The worker's slots must never
 * run out for that.
 */
const EAGER_CONCURRENCY = 100_000;

/** Fails fast, as CeleryModule's options do, on what cannot work. */
export function checkTestingOptions(options: CeleryTestingModuleOptions): void {
  const problems = unknownKeyProblems(options ?? {}, CELERY_TESTING_OPTION_KEYS, '');
  if (options?.alwaysEager && options.worker === false) problems.push('alwaysEager runs tasks on the module\'s worker: leave worker unset, true or worker options, not false');
  if (problems.length > 0) throw new InvalidCeleryOptionsError(problems);
}

/**
 * The CeleryModule options of one compiled testing module: fresh memory:// URLs (`id`), so no
 * two modules, or two tests, see each other's queues and results; a worker only when tasks run.
 */
export function celeryOptionsForTesting(options: CeleryTestingModuleOptions, id: string = randomUUID()): CeleryModuleOptions {
  const { alwaysEager, worker, isGlobal: _isGlobal, ...routing } = options;
  const url = `memory://celery-testing-${id}`;
  const runsTasks = alwaysEager === true || (worker !== undefined && worker !== false);
  return { ...routing, broker: url, backend: url, worker: runsTasks ? testingWorker(worker, alwaysEager === true) : false };
}

function testingWorker(worker: CeleryTestingModuleOptions['worker'], eager: boolean): WorkerModuleOptions {
  return {
    // A remote shutdown must not end the test process; ETA tasks are held in memory, not parked.
    exitOnRemoteShutdown: false,
    etaParkThresholdSeconds: 0,
    shutdownTimeoutMs: 5_000,
    ...(typeof worker === 'object' ? worker : {}),
    ...(eager ? { concurrency: EAGER_CONCURRENCY } : {}),
  };
}

import { RetryRequested } from '../../lib/errors/retry-requested';
import { ReplaceRequested } from '../../lib/errors/replace-requested';
import { ProcessPoolStartError } from '../../lib/errors/process-pool-start.error';
import { toExceptionInfo } from '../../lib/protocol/exception-info';
import { celeryOptionsFromEnv } from '../../lib/runtime/celery-options-from-env';
import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { TaskRegistry } from '../../lib/task/task-registry';
import { PythonException } from '../../lib/errors/python-exception';
import { describeChildError, rebuildChildError } from '../../lib/worker/pool/child-error';
import { TaskPools } from '../../lib/worker/pool/task-pools';

class Declined extends Error {}

describe('the process pool options', () => {
  it('reads CELERY_WORKER_POOL, _MAX_TASKS_PER_CHILD, _MAX_MEMORY_PER_CHILD (KiB), _AUTOSCALE and _POOL_RESTARTS', () => {
    expect(
      celeryOptionsFromEnv({
        CELERY_WORKER_POOL: 'process',
        CELERY_WORKER_MAX_TASKS_PER_CHILD: '100',
        CELERY_WORKER_MAX_MEMORY_PER_CHILD: '200000',
        CELERY_WORKER_AUTOSCALE: '10, 3',
        CELERY_WORKER_POOL_RESTARTS: 'true',
      }).worker,
    ).toEqual({ pool: 'process', maxTasksPerChild: 100, maxMemoryPerChild: 200000, autoscale: { max: 10, min: 3 }, poolRestarts: true });
    // Celery's own pool names map to ours.
    expect(celeryOptionsFromEnv({ CELERY_WORKER_POOL: 'prefork' }).worker).toEqual({ pool: 'process' });
    expect(celeryOptionsFromEnv({ CELERY_WORKER_POOL: 'solo' }).worker).toEqual({ pool: 'inline' });
  });

  it('names the variable of every pool value it cannot read', () => {
    expect(() => celeryOptionsFromEnv({ CELERY_WORKER_POOL: 'gevent', CELERY_WORKER_AUTOSCALE: '3,10', CELERY_WORKER_MAX_MEMORY_PER_CHILD: '1.5' })).toThrow(
      /CELERY_WORKER_MAX_MEMORY_PER_CHILD must be a positive whole number, got "1.5"[\s\S]*CELERY_WORKER_POOL must be process \(or prefork\) or inline \(or solo\), got "gevent"[\s\S]*CELERY_WORKER_AUTOSCALE must be max,min with whole numbers 1 ≤ min ≤ max/,
    );
  });

  it('refuses bad pool options at start-up, saying what is expected', () => {
    const worker = { pool: 'threads', maxTasksPerChild: 0, autoscale: { max: 2, min: 5 }, poolModule: { path: '' } } as never;
    expect(() => validateCeleryOptions({ broker: 'memory://', worker })).toThrow(
      /worker\.pool must be 'inline' \(tasks on the worker's event loop\) or 'process'[\s\S]*worker\.maxTasksPerChild must be a positive integer, got 0[\s\S]*worker\.autoscale must be \{ max, min \} with whole numbers 1 ≤ min ≤ max[\s\S]*worker\.poolModule must be \{ path: 'dist\/worker\.module\.js'/,
    );
  });

  it('fails the worker start when the process pool is wanted and no module is known for its children', async () => {
    const registry = new TaskRegistry();
    const pools = new TaskPools('process', null, null, 30);
    await expect(pools.start(registry, () => 0, () => undefined)).rejects.toThrow(ProcessPoolStartError);
    await expect(pools.start(registry, () => 0, () => undefined)).rejects.toThrow(/no module for the children to create: set worker\.poolModule/);
    // An inline worker with no process task starts no pool and needs no module.
    await expect(new TaskPools('inline', null, null, 30).start(registry, () => 0, () => undefined)).resolves.toBeUndefined();
  });
});

describe("a child's error, rebuilt in the worker", () => {
  const roundTrip = (error: unknown, options = {}) => rebuildChildError(structuredClone(describeChildError(error, options)), options);

  it('is stored exactly as the original would be, with its name, message and stack', () => {
    for (const error of [new TypeError('bad'), new PythonException('myproj.errors.PaymentDeclined', 'card refused', 42), 'a string']) {
      const rebuilt = roundTrip(error);
      expect(toExceptionInfo(rebuilt)).toEqual(toExceptionInfo(error));
      if (error instanceof Error) {
        expect(rebuilt.name).toBe(error.name);
        expect(rebuilt.message).toBe(error.message);
        expect(rebuilt.stack).toBe(error.stack);
      }
    }
  });

  it('keeps retry() and replace() requests, and an autoretryFor match as an instance of the matched class', () => {
    const retry = roundTrip(new RetryRequested({ countdown: 5, queue: 'slow', error: new RangeError('first') }));
    expect(retry).toBeInstanceOf(RetryRequested);
    expect((retry as RetryRequested).options).toMatchObject({ countdown: 5, queue: 'slow' });
    expect(toExceptionInfo((retry as RetryRequested).options.error)).toEqual(toExceptionInfo(new RangeError('first')));

    const replacement = { task: 'tasks.add', args: [1, 2], kwargs: {}, options: {}, subtask_type: null, immutable: false };
    const replaced = roundTrip(new ReplaceRequested(replacement as never));
    expect(replaced).toBeInstanceOf(ReplaceRequested);
    expect((replaced as ReplaceRequested).replacement).toEqual(replacement);

    const options = { autoretryFor: [RangeError, Declined] };
    const autoretried = roundTrip(new Declined('later'), options);
    expect(autoretried).toBeInstanceOf(Declined);
    expect(roundTrip(new TypeError('never'), options)).not.toBeInstanceOf(Declined);
  });
});

import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { InvalidCeleryOptionsError } from '../../lib/errors/invalid-celery-options.error';
import { WorkerLostError } from '../../lib/errors/worker-lost.error';
import { toExceptionInfo } from '../../lib/protocol/exception-info';
import { TaskMessage } from '../../lib/protocol/task-message';
import { resolveExecutionSettings } from '../../lib/worker/execution-settings';
import { DEFAULT_WORKER_OPTIONS } from '../../lib/worker/worker-options';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';

const message = { timeLimit: [null, null], ignoreResult: false } as unknown as TaskMessage;

describe('rejectOnWorkerLost (Celery: task_reject_on_worker_lost)', () => {
  it('defaults to running a lost task again, the task option winning over the worker-wide one', () => {
    expect(resolveExecutionSettings(message, {}, DEFAULT_WORKER_OPTIONS).rejectOnWorkerLost).toBe(true);
    const worker = { ...DEFAULT_WORKER_OPTIONS, acksLate: true, rejectOnWorkerLost: false };
    expect(resolveExecutionSettings(message, {}, worker).rejectOnWorkerLost).toBe(false);
    expect(resolveExecutionSettings(message, { rejectOnWorkerLost: true }, worker).rejectOnWorkerLost).toBe(true);
  });

  it('false with acksLate records STARTED, the mark the next worker reads to know a run began', () => {
    const worker = { ...DEFAULT_WORKER_OPTIONS, acksLate: true, rejectOnWorkerLost: false };
    expect(resolveExecutionSettings(message, {}, worker).trackStarted).toBe(true);
    expect(resolveExecutionSettings(message, { acksLate: false }, worker).trackStarted).toBe(false);
    expect(resolveExecutionSettings(message, {}, { ...worker, rejectOnWorkerLost: true }).trackStarted).toBe(false);
  });

  it('is validated as a boolean', () => {
    expect(() => validateCeleryOptions({ broker: 'memory://', worker: { rejectOnWorkerLost: 'no' as never } })).toThrow(InvalidCeleryOptionsError);
    expect(() => validateCeleryOptions({ broker: 'memory://', worker: { rejectOnWorkerLost: false } })).not.toThrow();
  });

  it('is read by the sample app from CELERY_TASK_REJECT_ON_WORKER_LOST, next to CELERY_TASK_ACKS_LATE', () => {
    const options = celeryOptionsFromEnvironment({ CELERY_TASK_ACKS_LATE: 'true', CELERY_TASK_REJECT_ON_WORKER_LOST: 'false' }, { worker: true });
    expect(options.worker).toMatchObject({ acksLate: true, rejectOnWorkerLost: false });
    expect(celeryOptionsFromEnvironment({ CELERY_TASK_REJECT_ON_WORKER_LOST: 'true' }, { worker: true }).worker).toMatchObject({ rejectOnWorkerLost: true });
  });

  it("is stored as Celery's billiard.exceptions.WorkerLostError, naming the lost worker", () => {
    const info = toExceptionInfo(new WorkerLostError('w1@host'));
    expect(info).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' });
    expect(info.exc_message[0]).toMatch(/^Worker exited prematurely: w1@host was running this task/);
  });
});

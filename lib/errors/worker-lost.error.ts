import { CeleryError } from './celery.error';

/**
 * The worker running an acksLate task was lost (killed, crashed, out of memory) before the task
 * finished; stored as the task's FAILURE when `rejectOnWorkerLost` is false, so a task that
 * brings its worker down is not run again and again (Celery's `billiard.exceptions.WorkerLostError`).
 */
export class WorkerLostError extends CeleryError {
  readonly celeryExceptionType = 'WorkerLostError';
  readonly celeryExceptionModule = 'billiard.exceptions';

  constructor(
    /** The node name stored with the task's STARTED state: the worker that was lost. */
    readonly lostWorker: string | null,
  ) {
    super(
      `Worker exited prematurely: ${lostWorker ?? 'the worker'} was running this task when it was lost, and its message came back ` +
        'unacknowledged. Not run again because rejectOnWorkerLost is false; set it to true to run such tasks again.',
    );
  }
}

import { CeleryError } from './celery.error';

/**
 * The pool child running a task died before answering (crashed, killed from outside, out of
 * memory): the task fails with this, stored as a Python worker stores it (billiard's
 * `WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL) Job: 3.')`). The worker goes on;
 * a new child takes the dead one's place.
 */
export class PoolChildLostError extends CeleryError {
  readonly celeryExceptionType = 'WorkerLostError';
  readonly celeryExceptionModule = 'billiard.exceptions';

  constructor(
    readonly pid: number,
    readonly exit: string,
  ) {
    super(`Worker exited prematurely: ${exit} (pool child ${pid}). Look at its output for the cause; a new child has replaced it.`);
  }
}

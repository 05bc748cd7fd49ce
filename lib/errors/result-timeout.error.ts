import { CeleryError } from './celery.error';

/**
 * A result was not ready in time (Celery's `celery.exceptions.TimeoutError`, raised by
 * `AsyncResult.get(timeout=…)`). The task may still finish later; the stored state is kept.
 */
export class ResultTimeoutError extends CeleryError {
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
    readonly lastState: string,
  ) {
    super(
      `The result of task ${taskId} was not ready within ${timeoutMs} ms (state: ${lastState}). ` +
        'Expected a ready state (SUCCESS, FAILURE or REVOKED). Check that a worker consumes the ' +
        "task's queue and stores results in the same backend, or wait longer.",
    );
  }
}

import { CeleryError } from './celery.error';

/**
 * Queues were to be added to or cancelled on a worker that is not consuming: not started yet, or
 * stopping. A Celery worker has no task consumer then either (`add_consumer` would fail on it).
 */
export class WorkerNotConsumingError extends CeleryError {
  constructor(
    readonly hostname: string,
    /** What was asked, for example `add_consumer("reports")`. */
    readonly request: string,
  ) {
    super(
      `Worker ${hostname} cannot ${request}: it is not consuming (not started yet, or stopping). ` +
        `Expected a started worker: call it after start() resolved and before stop().`,
    );
  }
}

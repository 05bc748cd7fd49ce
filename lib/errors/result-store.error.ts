import { CeleryError } from './celery.error';

/**
 * A task state could not be written to the result backend, even after retrying. The caller must
 * treat the result as not stored (a worker should not ack the message), so nothing is lost silently.
 */
export class ResultStoreError extends CeleryError {}

import { CeleryError } from './celery.error';

/** The result backend could not be reached, or was used before `connect()` / after `close()`. */
export class ResultBackendConnectionError extends CeleryError {}

import { CeleryError } from './celery.error';

/** Reading a result while no result backend is configured (Celery's DisabledBackend). */
export class ResultBackendDisabledError extends CeleryError {
  constructor() {
    super(
      'No result backend is configured, so task results cannot be read. Set the `backend` option of CeleryModule ' +
        "(for example 'postgresql://user@host/db', Celery's CELERY_RESULT_BACKEND) or send the task with ignoreResult.",
    );
  }
}

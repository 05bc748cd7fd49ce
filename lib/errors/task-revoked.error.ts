import { CeleryError } from './celery.error';

/** Why a task did not run or stopped: Celery's TaskRevokedError reasons. */
export type RevokeReason = 'revoked' | 'terminated' | 'expired';

/** A task was revoked (Celery's TaskRevokedError): stored as REVOKED, never retried. */
export class TaskRevokedError extends CeleryError {
  readonly celeryExceptionType = 'TaskRevokedError';
  readonly celeryExceptionModule = 'celery.exceptions';

  constructor(readonly reason: RevokeReason) {
    super(reason);
  }
}

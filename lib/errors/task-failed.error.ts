import { ExceptionInfo } from '../protocol/result-meta';
import { exceptionMessage } from '../protocol/exception-info';
import { CeleryError } from './celery.error';

/**
 * Thrown by `AsyncResult.get()` when the task ended in FAILURE or REVOKED: it carries the remote
 * exception's type, module, message and traceback, whichever language ran the task.
 */
export class TaskFailedError extends CeleryError {
  readonly excType: string;
  readonly excModule: string | null;
  readonly excMessage: unknown[];

  constructor(
    readonly taskId: string,
    readonly state: string,
    info: ExceptionInfo,
    readonly traceback: string | null,
  ) {
    super(`Task ${taskId} ended in ${state}: ${info.exc_type}: ${exceptionMessage(info)}`);
    this.excType = info.exc_type;
    this.excModule = info.exc_module ?? null;
    this.excMessage = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  }
}

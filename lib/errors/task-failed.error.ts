import { ExceptionInfo } from '../protocol/result-meta';
import { exceptionMessage } from '../protocol/exception-info';
import { CeleryError } from './celery.error';

/**
 * Thrown by `AsyncResult.get()` when the task ended in FAILURE or REVOKED (Celery re-raises the
 * stored exception): it carries the remote exception's Python type, module, message and
 * traceback, whichever language ran the task, and the JavaScript class name when a Nest worker's
 * task threw it. A task that lets it escape fails with the same Python exception, as a Celery task
 * whose `.get()` re-raised it does.
 */
export class TaskFailedError extends CeleryError {
  /** The Python class name (`exc_type`): `ValueError`, `PaymentDeclined`, `TaskRevokedError`… */
  readonly excType: string;
  /** Its module (`exc_module`): `builtins`, `celery.exceptions`, `myproj.errors`; null when none was stored. */
  readonly excModule: string | null;
  /** The exception's arguments (`exc_message`, Python's `exc.args`). */
  readonly excMessage: unknown[];
  /**
   * The class a Nest task threw, e.g. `RangeError` for `excType` ValueError (stored as
   * `exc_js_type`); null when a Python worker ran the task, or for errors that name their Python
   * class themselves (PythonException, Celery's own such as TaskRevokedError).
   */
  readonly excJsType: string | null;
  readonly celeryExceptionType: string;
  readonly celeryExceptionModule: string | null;
  readonly celeryExceptionArgs: readonly unknown[];

  constructor(
    readonly taskId: string,
    readonly state: string,
    info: ExceptionInfo,
    readonly traceback: string | null,
  ) {
    const jsType = typeof info.exc_js_type === 'string' ? info.exc_js_type : null;
    const thrownAs = jsType !== null && jsType !== info.exc_type ? ` (thrown in JavaScript as ${jsType})` : '';
    super(`Task ${taskId} ended in ${state}: ${info.exc_type}: ${exceptionMessage(info)}${thrownAs}`);
    this.excType = info.exc_type;
    this.excModule = info.exc_module ?? null;
    this.excMessage = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
    this.excJsType = jsType;
    this.celeryExceptionType = this.excType;
    this.celeryExceptionModule = this.excModule;
    this.celeryExceptionArgs = this.excMessage;
  }
}

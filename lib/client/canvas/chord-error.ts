import { ExceptionInfo } from '../../protocol/result-meta';
import { pythonRepr } from '../../protocol/python-repr';

/**
 * What Celery stores as a chord body's FAILURE when a header task failed:
 * `celery.exceptions.ChordError("Dependency <id> raised ValueError('boom')")`, which a Python
 * client re-raises as ChordError.
 */
export function chordErrorInfo(failedTaskId: string, cause: ExceptionInfo): ExceptionInfo {
  const args = Array.isArray(cause.exc_message) ? cause.exc_message : [cause.exc_message];
  const causeRepr = `${cause.exc_type}(${args.map((arg) => pythonRepr(arg)).join(', ')})`;
  return { exc_type: 'ChordError', exc_message: [`Dependency ${failedTaskId} raised ${causeRepr}`], exc_module: 'celery.exceptions' };
}

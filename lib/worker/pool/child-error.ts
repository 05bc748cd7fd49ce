import { ReplaceRequested } from '../../errors/replace-requested';
import { RetryRequested } from '../../errors/retry-requested';
import { toExceptionInfo, tracebackOf } from '../../protocol/exception-info';
import type { ExceptionInfo } from '../../protocol/result-meta';
import type { TaskOptions } from '../../task/task-definition';
import type { ChildError } from './pool-messages';

/**
 * An error a task threw in a pool child, rebuilt in the worker: the same name, message and stack,
 * and stored exactly as the child described it (`celeryExceptionInfo`, which toExceptionInfo()
 * takes as it is), so a result from the process pool reads as one from the in-process pool.
 */
export class ChildTaskError extends Error {
  constructor(readonly celeryExceptionInfo: ExceptionInfo, name: string, message: string, stack: string | null) {
    super(message);
    this.name = name;
    this.stack = stack ?? `${name}: ${message}`;
  }
}

/** In the child: what the parent needs of a thrown value (see ChildError). */
export function describeChildError(error: unknown, options: TaskOptions): ChildError {
  const described: ChildError = {
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    stack: tracebackOf(error),
    info: toExceptionInfo(error),
  };
  if (error instanceof RetryRequested) {
    const { error: cause, ...retry } = error.options;
    return { ...described, retry: { ...retry, ...(cause === undefined ? {} : { error: describeChildError(cause, {}) }) } };
  }
  if (error instanceof ReplaceRequested) return { ...described, replacement: error.replacement };
  const autoretryIndex = options.autoretryFor?.findIndex((errorClass) => error instanceof errorClass) ?? -1;
  return autoretryIndex >= 0 ? { ...described, autoretryIndex } : described;
}

/**
 * In the worker: the error the in-process pool would have seen, so the one settlement path reads
 * it alike — RetryRequested and ReplaceRequested as themselves, an autoretryFor match as an
 * instance of the matched class (the worker's retry policy tests `instanceof`), any other as a
 * ChildTaskError.
 */
export function rebuildChildError(described: ChildError, options: TaskOptions): Error {
  if (described.retry) {
    const { error, ...retry } = described.retry;
    return new RetryRequested({ ...retry, ...(error ? { error: rebuildChildError(error, {}) } : {}) });
  }
  if (described.replacement) return new ReplaceRequested(described.replacement);
  const rebuilt = new ChildTaskError(described.info, described.name, described.message, described.stack);
  const matched = described.autoretryIndex === undefined ? undefined : options.autoretryFor?.[described.autoretryIndex];
  if (matched) Object.setPrototypeOf(rebuilt, matched.prototype);
  return rebuilt;
}

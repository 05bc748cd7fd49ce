import { ArgumentsHost } from '@nestjs/common';
import { ExternalExceptionsHandler } from '@nestjs/core/exceptions/external-exceptions-handler';
import { isObservable, lastValueFrom } from 'rxjs';
import { ReplaceRequested } from '../errors/replace-requested';
import { RetryRequested } from '../errors/retry-requested';

/**
 * A task's outcome once its exception filters have seen its error, with the meaning Nest gives a
 * filter on its RPC transports: what the filter throws (or the error of the Observable it returns,
 * as `throwError(() => …)` in an RpcExceptionFilter) is the task's failure; a value it returns (or
 * emits) is the task's result; nothing returned leaves the error as it was. A retry asked with
 * `currentTask().retry()` or a replacement asked with `replace()` is not a failure: filters never
 * see them, so a catch-all `@Catch()` cannot turn them into one.
 */
export async function outcomeAfterFilters(filters: ExternalExceptionsHandler, error: unknown, host: ArgumentsHost): Promise<unknown> {
  if (error instanceof RetryRequested || error instanceof ReplaceRequested) throw error;
  const handled: unknown = filters.invokeCustomFilters(error, host) ?? undefined;
  const value = isObservable(handled) ? await lastValueFrom(handled, { defaultValue: undefined }) : await handled;
  if (value === undefined) throw error;
  return value;
}

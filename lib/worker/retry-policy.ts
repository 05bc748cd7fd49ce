import { MaxRetriesExceededError } from '../errors/max-retries-exceeded.error';
import { RetryRequested } from '../errors/retry-requested';
import { argsRepr, kwargsRepr } from '../protocol/python-repr';
import { TaskMessage } from '../protocol/task-message';
import { TaskOptions } from '../task/task-definition';

/** Celery's defaults for retries (celery/app/task.py), the one place they live. */
export const RETRY_DEFAULTS = {
  maxRetries: 3,
  defaultRetryDelay: 180,
  retryBackoffMax: 600,
  retryJitter: true,
} as const;

/** What to do with a task that threw. */
export type RetryPlan =
  /** Not a retry: an ordinary failure. */
  | { kind: 'fail' }
  /** Republish with retries + 1 to run at `eta` (to `queue` when given); `cause` is stored with the RETRY state. */
  | { kind: 'retry'; eta: Date; cause: unknown; queue?: string }
  /** Retries are used up: store this error as the FAILURE. */
  | { kind: 'exhausted'; error: MaxRetriesExceededError };

/**
 * Decides whether a thrown error retries the task (an explicit `retry()`, or an `autoretryFor`
 * match) and when, with Celery's rules: `max_retries` counts tries after the first, an explicit
 * countdown or eta wins, otherwise autoretries back off as `min(max, factor × 2^retries)`,
 * jittered over [0, that] when `retryJitter` is on.
 */
export function planRetry(message: TaskMessage, options: TaskOptions, error: unknown, now = Date.now(), random = Math.random): RetryPlan {
  let cause: unknown;
  let countdown: number | undefined;
  let eta: Date | undefined;
  let maxRetries = options.maxRetries === undefined ? RETRY_DEFAULTS.maxRetries : options.maxRetries;
  let queue: string | undefined;
  if (error instanceof RetryRequested) {
    ({ error: cause, countdown, eta, queue } = error.options);
    if (error.options.maxRetries !== undefined) maxRetries = error.options.maxRetries;
  } else if (options.autoretryFor?.some((errorClass) => error instanceof errorClass)) {
    cause = error;
    if (options.retryBackoff) countdown = backoffSeconds(message.retries, options, random);
  } else {
    return { kind: 'fail' };
  }
  if (maxRetries !== null && message.retries + 1 > maxRetries) {
    const description = `${message.task}[${message.id}] args:${argsRepr(message.args)} kwargs:${kwargsRepr(message.kwargs)}`;
    return { kind: 'exhausted', error: new MaxRetriesExceededError(description, cause) };
  }
  const delaySeconds = countdown ?? options.defaultRetryDelay ?? RETRY_DEFAULTS.defaultRetryDelay;
  return { kind: 'retry', eta: eta ?? new Date(now + delaySeconds * 1000), cause, ...(queue ? { queue } : {}) };
}

/** Celery's `get_exponential_backoff_interval` with full jitter. */
function backoffSeconds(retries: number, options: TaskOptions, random: () => number): number {
  const factor = options.retryBackoff === true ? 1 : Number(options.retryBackoff);
  const countdown = Math.min(options.retryBackoffMax ?? RETRY_DEFAULTS.retryBackoffMax, factor * 2 ** retries);
  return (options.retryJitter ?? RETRY_DEFAULTS.retryJitter) ? Math.floor(random() * (countdown + 1)) : countdown;
}

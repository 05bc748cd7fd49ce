/** How `retryWhileUnavailable` decides and reports. */
export interface RetryWhileUnavailableOptions {
  /** Give up (rethrow the last error) once this much time has passed since the first attempt. */
  timeoutMs: number;
  /** Only these errors are retried; anything else is thrown at once. */
  isTransient(error: unknown): boolean;
  /** Called before each pause, e.g. to log that the store is waiting for the database. */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `operation`, retrying with exponential backoff while it fails with a transient error (the
 * server restarting, a dropped connection), for at most `timeoutMs`. Celery's database backend
 * does the same for reads (`@retry` in celery/backends/database/__init__.py); we also do it for
 * writes so a worker does not lose a result to a short outage.
 */
export async function retryWhileUnavailable<T>(
  operation: () => Promise<T>,
  options: RetryWhileUnavailableOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const maxDelayMs = options.maxDelayMs ?? 2_000;
  let delayMs = options.initialDelayMs ?? 50;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const remainingMs = deadline - Date.now();
      if (!options.isTransient(error) || remainingMs <= 0) throw error;
      const pauseMs = Math.min(delayMs, remainingMs);
      options.onRetry?.(error, attempt, pauseMs);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
}

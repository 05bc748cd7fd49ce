/**
 * Settles as `work` does, or rejects with `error()` once `timeoutMs` passed first. The work itself
 * goes on (a promise cannot be cancelled); only the wait is bounded.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

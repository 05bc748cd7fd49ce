/**
 * Exponential backoff with "equal jitter": each delay is between half and all of
 * min(max, initial × 2^attempt). The jitter keeps a fleet of workers from reconnecting in lock-step
 * after a broker restart. Celery's equivalent is `broker_connection_retry` with kombu's interval steps.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly initialDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, in ms; each call counts one more failed attempt. */
  next(): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** Call after a success, so the next outage starts again from the initial delay. */
  reset(): void {
    this.attempt = 0;
  }
}

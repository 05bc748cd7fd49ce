/** setTimeout accepts at most 2^31 − 1 ms; a later wake-up is reached in several waits. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One timer for the earliest moment something expires, so messages expire in queues nobody
 * consumes (such as Celery's delay levels), as RabbitMQ expires them. It never keeps the process
 * alive by itself (unref), like a broker that lives elsewhere.
 */
export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;

  constructor(private readonly onDue: (now: number) => void) {}

  /** Makes sure onDue runs at `at` (epoch ms) or earlier. */
  wakeUpBy(at: number): void {
    if (at >= this.wakeAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS));
    this.timer.unref();
  }

  private fire(): void {
    const now = Date.now();
    const due = this.wakeAt;
    this.timer = undefined;
    this.wakeAt = Infinity;
    if (due > now) this.wakeUpBy(due); // A wait longer than one timer allows.
    else this.onDue(now);
  }
}

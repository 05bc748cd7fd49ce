import type { CeleryAlert } from '../celery-alert';
import type { AlertRules } from '../alert-options';
import type { FinishedTask } from './finished-task';

const KEY = 'all tasks';

/**
 * Fires when the share of failures among the tasks finished in the last `windowMs` reaches the
 * threshold (once at least `minTasks` finished), and resolves when it falls below again.
 */
export class FailureRateRule {
  /** Outcomes in arrival order: when each finished and whether it failed. */
  private readonly outcomes: { at: number; failed: boolean }[] = [];
  private head = 0;
  private failures = 0;
  private firing = false;

  constructor(private readonly rule: NonNullable<AlertRules['failureRate']>) {}

  taskFinished(task: FinishedTask): CeleryAlert[] {
    const failed = task.state === 'FAILURE';
    this.outcomes.push({ at: task.at, failed });
    if (failed) this.failures += 1;
    return this.evaluate(task.at);
  }

  /** Slides the window to `now`; an alert when the condition started or ended. */
  evaluate(now: number): CeleryAlert[] {
    this.forgetBefore(now - this.rule.windowMs);
    const finished = this.outcomes.length - this.head;
    const rate = finished === 0 ? 0 : this.failures / finished;
    // Too few tasks to judge: the alert stays as it is (a quiet spell does not resolve a failing rate).
    const breached = finished < this.rule.minTasks ? this.firing : rate >= this.rule.threshold;
    if (breached === this.firing) return [];
    this.firing = breached;
    const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
    const windowSeconds = this.rule.windowMs / 1000;
    return [
      {
        rule: 'failure-rate',
        status: breached ? 'firing' : 'resolved',
        severity: 'critical',
        key: KEY,
        summary: breached
          ? `${percent(rate)} of tasks failed in the last ${windowSeconds} s (${this.failures} of ${finished}), threshold ${percent(this.rule.threshold)}`
          : `Failure rate back to ${percent(rate)} over the last ${windowSeconds} s (threshold ${percent(this.rule.threshold)})`,
        details: { failed: this.failures, finished, rate, threshold: this.rule.threshold, windowSeconds },
        at: new Date(now).toISOString(),
      },
    ];
  }

  private forgetBefore(cutoff: number): void {
    while (this.head < this.outcomes.length && this.outcomes[this.head].at < cutoff) {
      if (this.outcomes[this.head].failed) this.failures -= 1;
      this.head += 1;
    }
    // Compact now and then so the array does not grow for ever.
    if (this.head > 1024 && this.head * 2 > this.outcomes.length) {
      this.outcomes.splice(0, this.head);
      this.head = 0;
    }
  }
}

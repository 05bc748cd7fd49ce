/**
 * Celery's `schedstate`: whether a schedule is due now and how many seconds until it should be
 * looked at again. `lagSeconds` adds what Celery clamps away: how late a due run is (0 when not due).
 */
export interface ScheduleState {
  readonly isDue: boolean;
  readonly nextSeconds: number;
  readonly lagSeconds: number;
}

/** When a schedule is looked at: now, and the run before (both instants, ms). */
export interface ScheduleClock {
  readonly nowMs: number;
  readonly lastRunAtMs: number;
}

/** One of Celery's schedule classes: `schedule` (interval), `crontab`, django-celery-beat's `clocked`. */
export interface PeriodicSchedule {
  /** Celery's `is_due(last_run_at)`. */
  isDue(clock: ScheduleClock): ScheduleState;
  /** For logs and the store: `<freq: 30 seconds>`, `<crontab: 0 4 * * * (m/h/dM/MY/d)>`… */
  describe(): string;
}

/** django-celery-beat's NEVER_CHECK_TIMEOUT: a clocked schedule that fired is not looked at again. */
export const NEVER_CHECK_SECONDS = 100_000_000;

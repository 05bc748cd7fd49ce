import { NEVER_CHECK_SECONDS, PeriodicSchedule, ScheduleClock, ScheduleState } from './schedule-state';
import { SECOND_MS } from './wall-clock';

/**
 * django-celery-beat's `clocked(clocked_time)`: due once the time has come, whatever ran before.
 * The beat fires it once and disables its entry in the same transaction (django-celery-beat
 * 2.4.0 leaves it enabled and may fire it again after a restart).
 */
export class ClockedSchedule implements PeriodicSchedule {
  constructor(readonly clockedAtMs: number) {}

  isDue({ nowMs }: ScheduleClock): ScheduleState {
    const remaining = (this.clockedAtMs - nowMs) / SECOND_MS;
    if (remaining <= 0) return { isDue: true, nextSeconds: NEVER_CHECK_SECONDS, lagSeconds: -remaining };
    return { isDue: false, nextSeconds: remaining, lagSeconds: 0 };
  }

  describe(): string {
    return `<clocked: ${new Date(this.clockedAtMs).toISOString()}>`;
  }
}

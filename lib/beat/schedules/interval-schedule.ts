import { PeriodicSchedule, ScheduleClock, ScheduleState } from './schedule-state';
import { SECOND_MS, toWallClock } from './wall-clock';

/**
 * Celery's `schedule(run_every)`: due `run_every` after the last run. As in Celery 5.2.6 the sum
 * is taken on the app time zone's wall clock (`remaining()`), so across a DST change a run
 * comes an hour early or late once, exactly as Python's beat fires it.
 */
export class IntervalSchedule implements PeriodicSchedule {
  constructor(
    readonly everySeconds: number,
    private readonly timeZone: string,
  ) {}

  isDue({ nowMs, lastRunAtMs }: ScheduleClock): ScheduleState {
    const remaining = (toWallClock(lastRunAtMs, this.timeZone) + this.everySeconds * SECOND_MS - toWallClock(nowMs, this.timeZone)) / SECOND_MS;
    if (remaining <= 0) return { isDue: true, nextSeconds: this.everySeconds, lagSeconds: -remaining };
    return { isDue: false, nextSeconds: remaining, lagSeconds: 0 };
  }

  describe(): string {
    return `<freq: ${this.everySeconds} seconds>`;
  }
}

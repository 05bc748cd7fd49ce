import { PeriodicSchedule, ScheduleClock, ScheduleState } from './schedule-state';
import { remainingMs, ScheduleTime } from './schedule-rules';
import { DAY_MS, SECOND_MS, toWallClock } from './wall-clock';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * Celery's `schedule(run_every, relative)`: due `run_every` after the last run. The sum is taken
 * on the wall clock of the schedule's zone, as Celery's `remaining()` takes it, and read by the
 * chosen Celery's rules (schedule-rules.ts): across a DST change a run comes an hour early or late
 * once (5.2), or an interval of whole days keeps its wall time (5.3+), exactly as Python's beat.
 *
 * `relative` (Celery: the entry's `relative=True`): the end is rounded down to the interval's
 * resolution — to the day, hour or minute when the interval is at least that long, else to the
 * second (`delta_resolution`) — so an hourly task runs on the hour, whenever the last run was.
 */
export class IntervalSchedule implements PeriodicSchedule {
  constructor(
    readonly everySeconds: number,
    private readonly time: ScheduleTime,
    readonly relative = false,
  ) {}

  isDue({ nowMs, lastRunAtMs }: ScheduleClock): ScheduleState {
    const { zone } = this.time;
    const endWall = this.endWall(toWallClock(lastRunAtMs, zone) + this.everySeconds * SECOND_MS);
    const remaining = remainingMs(endWall, { instantMs: nowMs, wallMs: toWallClock(nowMs, zone) }, this.time) / SECOND_MS;
    if (remaining <= 0) return { isDue: true, nextSeconds: this.everySeconds, lagSeconds: -remaining };
    return { isDue: false, nextSeconds: remaining, lagSeconds: 0 };
  }

  describe(): string {
    return `<freq: ${this.everySeconds} seconds${this.relative ? ', relative' : ''}>`;
  }

  /** Celery's `delta_resolution(end, run_every).replace(microsecond=0)` when relative. */
  private endWall(wallMs: number): number {
    if (!this.relative) return wallMs;
    const everyMs = this.everySeconds * SECOND_MS;
    const resolution = everyMs >= DAY_MS ? DAY_MS : everyMs >= HOUR_MS ? HOUR_MS : everyMs >= MINUTE_MS ? MINUTE_MS : SECOND_MS;
    return Math.floor(wallMs / resolution) * resolution;
  }
}

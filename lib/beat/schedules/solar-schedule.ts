import { addTime, getTimes, SunTimes } from 'suncalc';
import { InvalidScheduleError } from '../../errors/invalid-schedule.error';
import type { SolarEventName } from '../../task/task-schedule';
import { DEFAULT_SCHEDULE_RULES, ScheduleRules } from './schedule-rules';
import { PeriodicSchedule, ScheduleClock, ScheduleState } from './schedule-state';
import { DAY_MS, SECOND_MS } from './wall-clock';

/** Celery's solar events (`celery.schedules.solar._all_events`). */
export const SOLAR_EVENTS: readonly SolarEvent[] = ['dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise', 'solar_noon', 'sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical'];

export type SolarEvent = SolarEventName;

/**
 * Celery 5.2's `dusk_astronomical` horizon is '18' (+18°), not '-18' as its dawn: the sun is
 * taken to "set" when it sinks below 18° above the horizon, hours before astronomical dusk. Python's
 * 5.2 beat fires it then, so we do under the 'celery-5.2' rules; Celery 5.3 fixed it to '-18'
 * (suncalc's `night`). suncalc knows no +18° time: it is added once, under this name.
 */
const ABOVE_18_SET = 'celerySetThrough18Above';
addTime(18, 'celeryRiseThrough18Above', ABOVE_18_SET);

/**
 * Which suncalc time is each event's, and whether it comes before noon (a rising: ephem's
 * `next_rising`) or after (a setting). Celery's horizons, measured at the sun's centre
 * (`use_center`) except for sunrise and sunset (upper limb at -0:34, i.e. centre at about -0.833°,
 * suncalc's sunrise), with no refraction (pressure 0).
 */
const SUN_TIMES: Record<Exclude<SolarEvent, 'solar_noon'>, { time: string; rising: boolean }> = {
  dawn_astronomical: { time: 'nightEnd', rising: true }, // -18°
  dawn_nautical: { time: 'nauticalDawn', rising: true }, // -12°
  dawn_civil: { time: 'dawn', rising: true }, // -6°
  sunrise: { time: 'sunrise', rising: true },
  sunset: { time: 'sunset', rising: false },
  dusk_civil: { time: 'dusk', rising: false }, // -6°
  dusk_nautical: { time: 'nauticalDusk', rising: false }, // -12°
  dusk_astronomical: { time: 'night', rising: false }, // -18° (Celery 5.3+)
};

/** Celery 5.2's dusk_astronomical: +18°. */
const DUSK_ASTRONOMICAL_5_2 = { time: ABOVE_18_SET, rising: false };

const HALF_DAY_MS = DAY_MS / 2;
/** Celery: when the sun does not cross the horizon, "check again tomorrow (after the next anti-transit)" plus a minute. */
const CIRCUMPOLAR_RETRY_MS = 60 * SECOND_MS;

/**
 * Celery's `solar(event, lat, lon)`: due at the next occurrence of a solar event at a place,
 * counted from the last run. Celery computes it with `ephem`; we with suncalc (Meeus' algorithms),
 * which agree within the tolerance docs/BEAT.md gives, checked against Python in a unit test.
 * Celery's rules are kept as they are: where the sun does not rise or set that day (polar day or
 * night), the "next occurrence" is the next solar midnight (anti-transit) plus one minute, and the
 * task fires then, as Python's beat fires it.
 */
export class SolarSchedule implements PeriodicSchedule {
  constructor(
    readonly event: SolarEvent,
    readonly latitude: number,
    readonly longitude: number,
    readonly rules: ScheduleRules = DEFAULT_SCHEDULE_RULES,
  ) {
    // Celery's own checks and wording (SOLAR_INVALID_EVENT, _LATITUDE, _LONGITUDE).
    if (!SOLAR_EVENTS.includes(event)) throw new InvalidScheduleError(`Argument event "${String(event)}" is invalid. Must be one of ${[...SOLAR_EVENTS].sort().join(', ')}.`);
    if (typeof latitude !== 'number' || !(latitude >= -90 && latitude <= 90)) throw new InvalidScheduleError(`Argument latitude ${String(latitude)} is invalid, must be between -90 and 90.`);
    if (typeof longitude !== 'number' || !(longitude >= -180 && longitude <= 180)) throw new InvalidScheduleError(`Argument longitude ${String(longitude)} is invalid, must be between -180 and 180.`);
  }

  /** Celery's `solar.is_due(last_run_at)`: when due, the next check is the event after now. */
  isDue({ nowMs, lastRunAtMs }: ScheduleClock): ScheduleState {
    const remaining = (this.nextAfter(lastRunAtMs) - nowMs) / SECOND_MS;
    if (remaining > 0) return { isDue: false, nextSeconds: remaining, lagSeconds: 0 };
    return { isDue: true, nextSeconds: Math.max((this.nextAfter(nowMs) - nowMs) / SECOND_MS, 0), lagSeconds: -remaining };
  }

  /**
   * Celery's `solar.remaining_estimate`, as an instant: the event's first occurrence after
   * `afterMs`, or, on a day it does not occur, the next solar midnight plus a minute.
   */
  nextAfter(afterMs: number): number {
    // suncalc gives one solar day per call (around that day's noon); consecutive days give consecutive noons.
    for (let day = -1; day <= 2; day++) {
      const times = getTimes(new Date(afterMs + day * DAY_MS), this.latitude, this.longitude);
      const noonMs = times.solarNoon.getTime();
      if (this.event === 'solar_noon') {
        if (noonMs > afterMs) return noonMs;
        continue;
      }
      const { time, rising } = this.event === 'dusk_astronomical' && this.rules === 'celery-5.2' ? DUSK_ASTRONOMICAL_5_2 : SUN_TIMES[this.event];
      const at = timeOf(times, time);
      // A rising lies between the night before and noon, a setting between noon and the night after.
      const windowEndMs = rising ? noonMs : noonMs + HALF_DAY_MS;
      if (at === null) {
        if (windowEndMs > afterMs) return this.nextSolarMidnight(afterMs) + CIRCUMPOLAR_RETRY_MS;
      } else if (at > afterMs) return at;
    }
    return this.nextSolarMidnight(afterMs) + CIRCUMPOLAR_RETRY_MS;
  }

  describe(): string {
    return `<solar: ${this.event} at latitude ${this.latitude}, longitude: ${this.longitude}>`;
  }

  /** ephem's `next_antitransit(Sun())`: the first solar midnight after `afterMs`. */
  private nextSolarMidnight(afterMs: number): number {
    for (let day = -1; day <= 2; day++) {
      const midnightMs = getTimes(new Date(afterMs + day * DAY_MS), this.latitude, this.longitude).solarNoon.getTime() + HALF_DAY_MS;
      if (midnightMs > afterMs) return midnightMs;
    }
    return afterMs + DAY_MS; // unreachable: one of four consecutive solar midnights is after afterMs
  }
}

function timeOf(times: SunTimes, name: string): number | null {
  const value = times[name];
  return value instanceof Date ? value.getTime() : null;
}

import { EntryCompileOptions, entryFromRow, entryState } from '../../lib/beat/beat-entry';
import { codeRowAsRead, codeScheduleRow } from '../../lib/beat/store/code-schedule-rows';
import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import { decideRoles } from '../../lib/runtime/runtime-roles';
import { TaskRegistry } from '../../lib/task/task-registry';
import { beatOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { problemsOf } from '../support/option-problems';

const UTC_RULES: EntryCompileOptions = { timeZone: 'UTC', rules: 'celery-5.3' };

describe('beat options', () => {
  it('accepts Celery beat_schedule entries of every kind', () => {
    expect(
      problemsOf({
        beat: {
          url: 'postgresql://db/app',
          timezone: 'Europe/Paris',
          schedule: {
            seconds: { task: 'tasks.add', schedule: 30, args: [1, 2] },
            interval: { task: 'tasks.add', schedule: { every: 5, period: 'minutes' }, options: { queue: 'math', priority: 3, expires: 60 } },
            crontab: { task: 'reports.daily', schedule: { crontab: { minute: 0, hour: '7', dayOfWeek: 'mon-fri' } }, kwargs: { kind: 'daily' } },
            clocked: { task: 'launch', schedule: { clocked: '2027-01-01T00:00:00Z' } },
            solar: { task: 'lights.on', schedule: { solar: { event: 'sunset', latitude: 48.8566, longitude: 2.3522 } } },
          },
        },
      }),
    ).toEqual([]);
  });

  it('names each bad entry, key and value, and what to write instead', () => {
    expect(
      problemsOf({
        beat: {
          timezone: 'Mars/Olympus',
          scheduler: 'redbeat',
          scheduleRules: 'celery-4',
          maxInterval: 5,
          schedule: {
            fractional: { task: 'tasks.add', schedule: 0.5 },
            crontab: { task: 'tasks.add', schedule: { crontab: { minute: '*/0', hour: 25 } } },
            days: { task: 'tasks.add', schedule: { crontab: { dayOfWeek: 'someday' } } },
            untasked: { schedule: 10 },
            typo: { task: 'tasks.add', schedule: 10, kwarg: {} },
            when: { task: 'tasks.add', schedule: { clocked: 'tomorrow' } },
            relativeCron: { task: 'tasks.add', schedule: { crontab: { minute: 0 } }, relative: true },
          },
        },
      }),
    ).toEqual([
      'beat.maxInterval is not an option: did you mean beat.maxIntervalMs?',
      "beat.scheduler must be 'default' (the code's schedules) or 'django' (every row of django-celery-beat's tables), got \"redbeat\"",
      "beat.timezone must be an IANA time zone such as 'Europe/Paris' or 'UTC' (Celery: timezone), got \"Mars/Olympus\"",
      "beat.scheduleRules must be 'celery-5.3' or 'celery-5.2' (the Celery whose DST arithmetic schedules follow), got \"celery-4\"",
      "beat schedule 'fractional': an interval is a whole number of seconds, at least 1 (django-celery-beat's IntervalSchedule), got 0.5",
      "Periodic task 'crontab': minute '*/0' is not a crontab pattern: step '0' must be a positive whole number",
      "Periodic task 'days': dayOfWeek 'someday' is not a crontab pattern: invalid weekday literal 'someday'",
      "beat schedule 'untasked': task must be the name of a task, such as 'tasks.add'",
      "beat.schedule['typo'].kwarg is not an option: did you mean beat.schedule['typo'].kwargs?",
      "beat schedule 'when': schedule.clocked must be a Date or an ISO 8601 time with an offset, got tomorrow",
      "beat schedule 'relativeCron': relative applies to interval schedules only (as Celery's), not to a crontab schedule",
    ]);
  });

  it("takes the sample app's CELERY_BEAT_SCHEDULE_RULES, and a wrong value fails at start-up", () => {
    expect(beatOptionsFromEnvironment({ CELERY_BEAT_SCHEDULE_RULES: 'celery-5.2' }).scheduleRules).toBe('celery-5.2');
    expect(beatOptionsFromEnvironment({}).scheduleRules).toBeUndefined();
    expect(problemsOf({ beat: beatOptionsFromEnvironment({ CELERY_BEAT_SCHEDULE_RULES: '5.2' }) })).toContain(
      "beat.scheduleRules must be 'celery-5.3' or 'celery-5.2' (the Celery whose DST arithmetic schedules follow), got \"5.2\"",
    );
  });

  it("keeps its tables in the database result backend's PostgreSQL unless given one, and is a role of its own", () => {
    const withBackend = resolveCeleryConfig({ broker: 'memory://', backend: 'db+postgresql://db/results', beat: {} }, null);
    expect(withBackend.beat).toMatchObject({ url: 'db+postgresql://db/results', scheduler: 'default', timezone: 'UTC', scheduleRules: 'celery-5.3', maxIntervalMs: 1000 });
    expect(resolveCeleryConfig({ broker: 'memory://', backend: 'redis://r', beat: { url: 'postgresql://db/beat' } }, null).beat?.url).toBe('postgresql://db/beat');
    expect(resolveCeleryConfig({ broker: 'memory://', backend: 'redis://r', beat: {} }, null).beat?.url).toBeUndefined();
    expect(resolveCeleryConfig({ broker: 'memory://' }, null).beat).toBeNull();
    const roles = decideRoles(resolveCeleryConfig({ broker: 'memory://', worker: false, beat: { url: 'postgresql://db/app' } }, null), new TaskRegistry());
    expect(roles).toMatchObject({ worker: 'none', beat: true, summary: 'Beat only (worker: false)' });
  });
});

describe('a beat entry', () => {
  const rowOf = (schedule: Parameters<typeof codeScheduleRow>[1], now = new Date('2026-06-01T10:00:00Z')) => {
    const row = codeScheduleRow('entry', schedule, 'UTC');
    const s = row.schedule;
    return {
      ...codeRowAsRead(row, now),
      id: 1,
      last_run_at: new Date('2026-06-01T09:59:00Z'),
      // node-postgres reads numeric(9, 6) as text with its six decimals.
      ...(s.kind === 'solar' ? { solar_latitude: s.values.latitude.toFixed(6), solar_longitude: s.values.longitude.toFixed(6) } : {}),
    };
  };

  it("sends Celery beat's options with a periodic_task_name header", () => {
    const entry = entryFromRow(rowOf({ task: 't', schedule: 30, args: [1], kwargs: { a: 1 }, options: { queue: 'q', priority: 4, expires: 60, headers: { h: 1 } } }), UTC_RULES);
    expect(entry.sendOptions).toEqual({ kwargs: { a: 1 }, headers: { h: 1, periodic_task_name: 'entry' }, queue: 'q', priority: 4, expires: 60 });
    expect(entry.args).toEqual([1]);
  });

  it('waits for its start time, and a one-off that ran is never due again (django-celery-beat ModelEntry.is_due)', () => {
    const now = Date.parse('2026-06-01T10:00:00Z');
    const later = entryFromRow(rowOf({ task: 't', schedule: 30, startTime: '2026-06-01T10:00:42Z' }), UTC_RULES);
    expect(entryState(later, now)).toEqual({ isDue: false, nextSeconds: 42, lagSeconds: 0 });
    const oneOff = entryFromRow(rowOf({ task: 't', schedule: 30, oneOff: true }), UTC_RULES);
    expect(entryState(oneOff, now).isDue).toBe(true);
    expect(entryState({ ...oneOff, totalRunCount: 1 }, now).isDue).toBe(false);
    expect(entryState({ ...oneOff, enabled: false }, now)).toEqual({ isDue: false, nextSeconds: 5, lagSeconds: 0 });
  });

  it('catches up a missed run once: due with its lag, then counted from the run', () => {
    const entry = entryFromRow(rowOf({ task: 't', schedule: 30 }), UTC_RULES);
    const now = Date.parse('2026-06-01T12:00:00Z'); // two hours of runs missed
    expect(entryState(entry, now)).toEqual({ isDue: true, nextSeconds: 30, lagSeconds: 7230 });
    expect(entryState({ ...entry, lastRunAtMs: now }, now + 1000)).toEqual({ isDue: false, nextSeconds: 29, lagSeconds: 0 });
  });

  it("keeps Celery's relative flag of a code entry beside the row, and rounds its runs to the interval's hour", () => {
    const relative = codeScheduleRow('entry', { task: 't', schedule: 3600, relative: true }, 'UTC');
    expect(relative.relative).toBe(true);
    const row = rowOf({ task: 't', schedule: 3600, relative: true }); // last run 09:59
    const entry = entryFromRow(row, { ...UTC_RULES, relativeNames: new Set(['entry']) });
    expect(entry.schedule.describe()).toBe('<freq: 3600 seconds, relative>');
    // 09:59 + 1 h = 10:59, rounded down to the hour: due at 10:00, not 10:59.
    expect(entryState(entry, Date.parse('2026-06-01T10:00:00Z')).isDue).toBe(true);
    const plain = entryFromRow(row, UTC_RULES);
    expect(entryState(plain, Date.parse('2026-06-01T10:00:00Z'))).toEqual({ isDue: false, nextSeconds: 3540, lagSeconds: 0 });
  });

  it("reads month names in crontab fields under Celery 5.3+'s rules, and refuses them under 5.2's saying why", () => {
    const entry = { task: 't', schedule: { crontab: { minute: 0, hour: 6, monthOfYear: 'jan-mar' } } };
    expect(codeScheduleRow('quarter', entry, 'UTC').schedule).toMatchObject({ kind: 'crontab', values: { month_of_year: 'jan-mar' } });
    expect(() => codeScheduleRow('quarter', entry, 'UTC', 'celery-5.2')).toThrow(
      "Periodic task 'quarter': monthOfYear 'jan-mar' is not a crontab pattern: invalid weekday literal 'jan' (month names such as 'jan' need scheduleRules 'celery-5.3')",
    );
  });

  it('treats a clocked schedule as a one-off', () => {
    expect(entryFromRow(rowOf({ task: 't', schedule: { clocked: '2026-06-01T09:00:00Z' } }), UTC_RULES).oneOff).toBe(true);
  });

  it('fires a solar schedule at the event after its last run, then counts from now (Celery solar.is_due)', () => {
    // rowOf's last run: 2026-06-01T09:59Z. Sunset in Paris that day: about 19:44 UTC.
    const entry = entryFromRow(rowOf({ task: 't', schedule: { solar: { event: 'sunset', latitude: 48.8566123456, longitude: 2.3522 } } }), UTC_RULES);
    expect(entry.schedule.describe()).toBe('<solar: sunset at latitude 48.856612, longitude: 2.3522>');
    const noon = Date.parse('2026-06-01T12:00:00Z');
    const waiting = entryState(entry, noon);
    expect(waiting.isDue).toBe(false);
    expect(waiting.nextSeconds / 3600).toBeCloseTo(7.76, 1);
    const afterSunset = Date.parse('2026-06-01T19:50:00Z');
    const due = entryState(entry, afterSunset);
    expect(due.isDue).toBe(true);
    expect(due.lagSeconds).toBeGreaterThan(0);
    expect(due.nextSeconds / 3600).toBeCloseTo(24, 0); // the next day's sunset
  });

  it("refuses a solar schedule Celery refuses, with Celery's message", () => {
    const solar = (event: string, latitude: number, longitude: number) => () =>
      codeScheduleRow('sun', { task: 't', schedule: { solar: { event: event as 'sunset', latitude, longitude } } }, 'UTC');
    expect(solar('moonrise', 0, 0)).toThrow(`Periodic task 'sun': Argument event "moonrise" is invalid. Must be one of dawn_astronomical, dawn_civil, dawn_nautical, dusk_astronomical, dusk_civil, dusk_nautical, solar_noon, sunrise, sunset.`);
    expect(solar('sunrise', 91, 0)).toThrow('Argument latitude 91 is invalid, must be between -90 and 90.');
    expect(solar('sunrise', 0, -181)).toThrow('Argument longitude -181 is invalid, must be between -180 and 180.');
  });
});

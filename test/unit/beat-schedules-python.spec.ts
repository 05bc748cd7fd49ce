import { spawnSync } from 'node:child_process';
import { CrontabFields, CrontabSchedule } from '../../lib/beat/schedules/crontab-schedule';
import { IntervalSchedule } from '../../lib/beat/schedules/interval-schedule';
import type { ScheduleRules } from '../../lib/beat/schedules/schedule-rules';
import type { ScheduleState } from '../../lib/beat/schedules/schedule-state';
import { CELERY_PEER, peerIsAtLeast, PYTHON, pythonEnvironment } from '../support/celery-peer';

/**
 * Our schedules against Python Celery's own — Debian's 5.2.6, or 5.6.3 with `CELERY_PEER=5.6` —
 * under the matching `scheduleRules` ('celery-5.2' or 'celery-5.3'): for many (schedule, last run,
 * now) triples, Python's `crontab(...).is_due(last_run_at)` and `schedule(run_every, relative).is_due(last_run_at)`
 * are computed here, with the app's timezone set as a beat would have it (pytz datetimes under
 * 5.2, zoneinfo under 5.3+, as each one's beat makes them), and ours must say the same (due or
 * not, seconds to the next check). The triples crowd around the DST changes of Europe/Paris and
 * America/New_York, month ends, leap days and year ends. A last check runs every case by the
 * other rules and requires some to differ, so the comparison tells the two apart.
 */
const PYTHON_REFERENCE = String.raw`
import json, sys
from datetime import datetime, timedelta, timezone as dt_timezone
import celery
from celery import Celery
from celery.schedules import crontab, schedule
if tuple(int(part) for part in celery.__version__.split('.')[:2]) >= (5, 3):
    from zoneinfo import ZoneInfo as zone_of
else:
    from pytz import timezone as zone_of

cases = json.load(sys.stdin)
apps = {}
out = []
for case in cases:
    tz = case['tz']
    app = apps.get(tz)
    if app is None:
        app = apps[tz] = Celery(set_as_current=False)
        app.conf.timezone = tz
        app.conf.enable_utc = True
    zone = zone_of(tz)
    now = datetime.fromtimestamp(case['now'] / 1000, dt_timezone.utc).astimezone(zone)
    last = datetime.fromtimestamp(case['last'] / 1000, dt_timezone.utc).astimezone(zone)
    nowfun = lambda now=now: now
    if 'every' in case:
        entry = schedule(timedelta(seconds=case['every']), relative=case.get('relative', False), nowfun=nowfun, app=app)
    else:
        entry = crontab(**case['cron'], nowfun=nowfun, app=app)
    try:
        state = entry.is_due(last)
        out.append([bool(state[0]), round(state[1], 3)])
    except Exception as error:
        out.append(['error', type(error).__name__])
print(json.dumps(out))
`;

interface Case {
  tz: string;
  now: number;
  last: number;
  cron?: Record<string, unknown>;
  every?: number;
  relative?: boolean;
}

const CRONTABS: CrontabFields[] = [
  {},
  { minute: 0 },
  { minute: '*/15' },
  { minute: 30, hour: 2 },
  { minute: 0, hour: 3 },
  { minute: '0,30', hour: '1-3' },
  { minute: 0, hour: '*/3' },
  { minute: 5, hour: 0, dayOfWeek: 'sun' },
  { minute: 0, hour: 9, dayOfWeek: 'mon-fri' },
  { minute: 0, hour: '8-17/2', dayOfWeek: 'sat,sun' },
  { minute: 0, hour: 0, dayOfMonth: 1 },
  { minute: 0, hour: 0, dayOfMonth: 31 },
  { minute: 15, hour: 4, dayOfMonth: 29, monthOfYear: 2 },
  { minute: 0, hour: 12, dayOfWeek: 1, dayOfMonth: '1-7' },
  { minute: 0, hour: 12, dayOfWeek: 'fri', dayOfMonth: 13 },
  { minute: 0, hour: 0, monthOfYear: '*/3' },
  { minute: 45, hour: 23, dayOfMonth: '28-31' },
  { minute: '50-10', hour: '22-2' },
  { minute: [0, 20, 40], hour: [2, 3] },
  { minute: 0, hour: 0, dayOfWeek: '*/2' },
  { minute: 59, hour: 23, dayOfMonth: '1-7,15-21', monthOfYear: '1-12/2' },
  { minute: 0, hour: 2, dayOfMonth: 2, monthOfYear: 11 },
  // Month names: Celery 5.3+ reads them (5.2 refuses them, see beat-options.spec.ts).
  ...(peerIsAtLeast('5.3') ? [{ minute: 30, hour: 2, monthOfYear: 'mar-apr,oct' }, { minute: 0, hour: 0, dayOfWeek: 'sun', monthOfYear: 'nov' }] : []),
];
const ZONES = ['Europe/Paris', 'America/New_York', 'UTC'];
/** DST changes of 2026 (UTC), month and year ends, a leap day. */
const AROUND = [
  Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6),
  Date.UTC(2026, 11, 31, 23), Date.UTC(2028, 1, 29, 12), Date.UTC(2026, 3, 30, 22), Date.UTC(2027, 2, 28, 0, 30),
];

/** A seeded generator: the cases are the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function buildCases(): Case[] {
  const next = random(16);
  const cases: Case[] = [];
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const minute = 60_000;
  for (const tz of ZONES) {
    for (const cron of CRONTABS) {
      for (let index = 0; index < 24; index++) {
        const around = pick(AROUND);
        const last = around + Math.round((next() - 0.5) * 6 * 3600_000 / minute) * minute + (index % 3 === 0 ? Math.round(next() * 59) * 1000 : 0);
        const step = index % 4 === 0 ? Math.round(next() * 40 * 86_400_000) : Math.round(next() * 5 * 3600_000);
        cases.push({ tz, cron: toPython(cron), last, now: last + Math.round(step / 1000) * 1000 });
      }
    }
    for (const every of [30, 3600, 86_400, 7 * 86_400]) {
      for (let index = 0; index < 12; index++) {
        const last = pick(AROUND) + Math.round((next() - 0.5) * 4 * 3600_000);
        cases.push({ tz, every, last, now: last + Math.round(next() * every * 1.5) * 1000 });
      }
    }
    // Celery's relative=True: the end rounded to the interval's resolution (second, minute, hour, day).
    for (const every of [45, 90, 3600, 5400, 86_400]) {
      for (let index = 0; index < 12; index++) {
        const last = pick(AROUND) + Math.round((next() - 0.5) * 4 * 3600_000);
        cases.push({ tz, every, relative: true, last, now: last + Math.round(next() * every * 1.5) * 1000 });
      }
    }
  }
  return cases;
}

function toPython(cron: CrontabFields): Record<string, unknown> {
  const names = { minute: 'minute', hour: 'hour', dayOfWeek: 'day_of_week', dayOfMonth: 'day_of_month', monthOfYear: 'month_of_year' } as const;
  return Object.fromEntries(Object.entries(cron).map(([key, value]) => [names[key as keyof typeof names], value]));
}

function fromPython(cron: Record<string, unknown>): CrontabFields {
  const names: Record<string, keyof CrontabFields> = { minute: 'minute', hour: 'hour', day_of_week: 'dayOfWeek', day_of_month: 'dayOfMonth', month_of_year: 'monthOfYear' };
  return Object.fromEntries(Object.entries(cron).map(([key, value]) => [names[key], value])) as CrontabFields;
}

/** The rules of the Celery the test runs against. */
const RULES: ScheduleRules = peerIsAtLeast('5.3') ? 'celery-5.3' : 'celery-5.2';
const OTHER_RULES: ScheduleRules = RULES === 'celery-5.3' ? 'celery-5.2' : 'celery-5.3';

function ours(entry: Case, rules: ScheduleRules = RULES): [boolean, number] | ['error', string] {
  try {
    const time = { zone: entry.tz, rules };
    const schedule = entry.every !== undefined ? new IntervalSchedule(entry.every, time, entry.relative) : new CrontabSchedule(fromPython(entry.cron!), time);
    const state: ScheduleState = schedule.isDue({ nowMs: entry.now, lastRunAtMs: entry.last });
    return [state.isDue, Math.round(state.nextSeconds * 1000) / 1000];
  } catch (error) {
    return ['error', (error as Error).name];
  }
}

describe(`beat schedules (scheduleRules '${RULES}') against ${CELERY_PEER.name}'s`, () => {
  const cases = buildCases();
  const run = spawnSync(PYTHON, ['-c', PYTHON_REFERENCE], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 120_000, maxBuffer: 32 * 1024 * 1024, env: pythonEnvironment() });

  it('Python computed every case', () => {
    if (run.status !== 0) throw new Error(`${PYTHON} with ${CELERY_PEER.name} (apt install python3-celery; CELERY_PEER=5.6 for 5.6) failed: ${run.error?.message ?? run.stderr}`);
    expect(JSON.parse(run.stdout)).toHaveLength(cases.length);
  });

  it('crontab and interval: due and seconds to the next check agree on every case, across DST changes', () => {
    const python = JSON.parse(run.stdout) as unknown[];
    const mismatches = cases.flatMap((entry, index) => {
      const mine = ours(entry);
      if (JSON.stringify(mine) === JSON.stringify(python[index])) return [];
      return [`${JSON.stringify(entry.cron ?? { every: entry.every })} ${entry.tz} last=${new Date(entry.last).toISOString()} now=${new Date(entry.now).toISOString()}: python ${JSON.stringify(python[index])}, ours ${JSON.stringify(mine)}`];
    });
    expect(cases.length).toBeGreaterThan(1500);
    // Some cases must be due and some not, or the comparison says little.
    expect(new Set((python as [unknown][]).map((state) => state[0])).size).toBe(2);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it(`the other rules ('${OTHER_RULES}') differ from this Celery on some DST cases, so the comparison tells them apart`, () => {
    const python = JSON.parse(run.stdout) as unknown[];
    // Month names are 5.3+'s alone (5.2's rules refuse them): the arithmetic is compared on the rest.
    const differing = cases.filter((entry, index) => ours(entry, OTHER_RULES)[0] !== 'error' && JSON.stringify(ours(entry, OTHER_RULES)) !== JSON.stringify(python[index]));
    expect(differing.length).toBeGreaterThan(10);
    expect(differing.every((entry) => entry.tz !== 'UTC')).toBe(true);
  });
});

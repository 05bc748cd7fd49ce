import { spawnSync } from 'node:child_process';
import type { ScheduleRules } from '../../lib/beat/schedules/schedule-rules';
import { SOLAR_EVENTS, SolarEvent, SolarSchedule } from '../../lib/beat/schedules/solar-schedule';
import { CELERY_PEER, peerIsAtLeast, PYTHON, pythonEnvironment } from '../support/celery-peer';

/**
 * Our solar schedule against Python Celery's own `celery.schedules.solar` (Debian's 5.2.6, or
 * 5.6.3 with CELERY_PEER=5.6, under the matching scheduleRules: 5.3 moved dusk_astronomical's
 * horizon from +18° to -18°), which computes with
 * `ephem` (Debian's python3-ephem): for every event, at Paris, New York, Sydney and Tromsø
 * (midnight sun in June, polar night in December), from many last runs, Python's next fire time
 * (`now + remaining_estimate(last_run_at)`) is computed here by /usr/bin/python3, and ours (from
 * suncalc) must be within SOLAR_TOLERANCE_SECONDS of it: the same event of the same day, or, on a
 * day it does not occur, the same solar midnight plus a minute (Celery's rule).
 */
const PYTHON_REFERENCE = String.raw`
import json, sys
from datetime import datetime, timedelta, timezone as dt_timezone
import ephem
from celery import Celery
from celery.schedules import solar

app = Celery(set_as_current=False)
app.conf.timezone = 'UTC'
app.conf.enable_utc = True
out = []
for case in json.load(sys.stdin):
    now = datetime.fromtimestamp(case['now'] / 1000, dt_timezone.utc)
    last = datetime.fromtimestamp(case['last'] / 1000, dt_timezone.utc)
    entry = solar(case['event'], case['lat'], case['lon'], nowfun=lambda now=now: now, app=app)
    try:
        out.append([round((now + entry.remaining_estimate(last)).timestamp() * 1000), False])
    except TypeError:
        # Celery 5.2.6's circumpolar branch adds a timedelta to an ephem.Date and raises (its beat
        # dies). What it means to do, with ephem's own anti-transit: the next solar midnight + 1 min.
        entry.cal.date = last
        midnight = entry.cal.next_antitransit(ephem.Sun()).datetime().replace(tzinfo=dt_timezone.utc)
        out.append([round((midnight + timedelta(minutes=1)).timestamp() * 1000), True])
print(json.dumps(out))
`;

/** How far our fire times may be from ephem's (docs/BEAT.md, "Solar schedules"). */
const SOLAR_TOLERANCE_SECONDS = 60;

const PLACES = {
  paris: { lat: 48.8566, lon: 2.3522 },
  newYork: { lat: 40.7128, lon: -74.006 },
  sydney: { lat: -33.8688, lon: 151.2093 },
  tromso: { lat: 69.6492, lon: 18.9553 },
};

/** Dates around the solstices and equinoxes (Tromsø's midnight sun and polar night among them). */
const DATES = ['2026-01-10', '2026-03-20', '2026-06-21', '2026-07-15', '2026-09-23', '2026-12-21'];
const HOURS_UTC = [0, 5, 11, 17, 22];

interface Case {
  place: string;
  event: SolarEvent;
  lat: number;
  lon: number;
  last: number;
  now: number;
}

function cases(): Case[] {
  const all: Case[] = [];
  for (const [place, { lat, lon }] of Object.entries(PLACES)) {
    for (const event of SOLAR_EVENTS) {
      for (const date of DATES) {
        for (const hour of HOURS_UTC) {
          const last = Date.parse(`${date}T00:00:00Z`) + hour * 3_600_000 + 17 * 60_000;
          all.push({ place, event, lat, lon, last, now: last + 1000 });
        }
      }
    }
  }
  return all;
}

/** Python's next fire time (ms) and whether the event does not occur that day (Celery's circumpolar branch). */
function pythonNextFires(input: Case[]): [number, boolean][] {
  const run = spawnSync(PYTHON, ['-c', PYTHON_REFERENCE], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: pythonEnvironment() });
  if (run.status !== 0) throw new Error(`${PYTHON} with ${CELERY_PEER.name} and python3-ephem failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as [number, boolean][];
}

const RULES: ScheduleRules = peerIsAtLeast('5.3') ? 'celery-5.3' : 'celery-5.2';

describe(`solar schedules (scheduleRules '${RULES}') against ${CELERY_PEER.name}'s celery.schedules.solar (ephem)`, () => {
  const all = cases();
  const expected = pythonNextFires(all);

  it('fires every event at every place within the tolerance of Celery', () => {
    const off: string[] = [];
    let worst = 0;
    all.forEach((one, index) => {
      const [celeryAt, celeryCircumpolar] = expected[index];
      const ours = new SolarSchedule(one.event, one.lat, one.lon, RULES).nextAfter(one.last);
      const difference = Math.abs(ours - celeryAt) / 1000;
      worst = Math.max(worst, difference);
      if (difference > SOLAR_TOLERANCE_SECONDS) {
        const why = celeryCircumpolar ? ' (Celery: no such event that day, next solar midnight + 1 min)' : '';
        off.push(`${one.place} ${one.event} after ${new Date(one.last).toISOString()}: ours ${new Date(ours).toISOString()}, Celery ${new Date(celeryAt).toISOString()}${why}: ${difference.toFixed(0)} s`);
      }
    });
    if (process.env.SOLAR_REPORT) console.log(`worst difference ${worst.toFixed(1)} s over ${all.length} cases, ${expected.filter(([, circumpolar]) => circumpolar).length} of them circumpolar`);
    expect(off).toEqual([]);
  });

  it("takes Celery's rule for days without the event where the sun does not cross its horizon", () => {
    // Else the comparison above would not test that rule.
    const circumpolar = all.filter((_, index) => expected[index][1]).map((one) => `${one.place} ${one.event}`);
    // Midnight sun and polar night at Tromsø; no astronomical night at Paris around the June solstice.
    expect(circumpolar).toEqual(expect.arrayContaining(['tromso sunrise', 'tromso sunset', 'tromso dawn_civil', 'paris dawn_astronomical']));
    expect(circumpolar.filter((name) => name.startsWith('new') || name.startsWith('sydney'))).toEqual([]);
  });
});

import type { ReceivedEvent } from './received-event';

/** Celery's HEARTBEAT_EXPIRE_WINDOW: a worker is gone after 200 % of its heartbeat interval. */
const HEARTBEAT_EXPIRE_WINDOW = 200;
/** Celery keeps the last four heartbeats (`Worker.heartbeat_max`). */
const HEARTBEATS_KEPT = 4;
/** Celery's HEARTBEAT_DRIFT_MAX: more than this between sending and arrival means clocks disagree. */
export const HEARTBEAT_DRIFT_MAX_SECONDS = 16;

/** Celery's `heartbeat_expires(timestamp, freq)`: when a worker last heard at `timestamp` is considered gone. */
export function heartbeatExpires(timestamp: number, freqSeconds: number): number {
  return timestamp + freqSeconds * (HEARTBEAT_EXPIRE_WINDOW / 100);
}

/** A worker as a monitor shows it: serialisable, for JSON APIs and alerts. */
export interface WorkerSnapshot {
  hostname: string;
  /** Online while a heartbeat (or any of its task events) arrived within 2 × freq; false after worker-offline. */
  online: boolean;
  pid: number | null;
  /** Heartbeat interval in seconds. */
  freq: number;
  /** Seconds since the last heartbeat arrived (receiver's time); null when none has. */
  heartbeatAgeSeconds: number | null;
  /** Epoch seconds of the last heartbeat's arrival; null when none. */
  lastHeartbeat: number | null;
  /** Epoch seconds after which it counts as offline; null when it has no heartbeat. */
  heartbeatExpires: number | null;
  active: number | null;
  processed: number | null;
  loadavg: number[] | null;
  swIdent: string | null;
  swVer: string | null;
  swSys: string | null;
  /** Seconds between the sender's timestamp and our arrival time, at the last heartbeat. */
  clockDriftSeconds: number | null;
  clock: number;
}

/**
 * One worker of the cluster, as Celery's `celery.events.state.Worker` follows it: fields from its
 * worker events, the arrival times of its last four heartbeats (task events count too), and
 * `alive` computed from them exactly as Celery does: `now < last heartbeat + freq × 2`.
 */
export class MonitoredWorker {
  pid: number | null = null;
  /** Celery's default until the worker says (`Worker.freq = 60`). */
  freq = 60;
  clock = 0;
  active: number | null = null;
  processed: number | null = null;
  loadavg: number[] | null = null;
  swIdent: string | null = null;
  swVer: string | null = null;
  swSys: string | null = null;
  clockDriftSeconds: number | null = null;
  /** Arrival times (epoch seconds), ascending. */
  readonly heartbeats: number[] = [];

  constructor(readonly hostname: string) {}

  /** A worker-online / -heartbeat / -offline event (Celery's `Worker.event`). */
  workerEvent(subject: string, event: ReceivedEvent): void {
    if (typeof event.pid === 'number') this.pid = event.pid;
    if (typeof event.freq === 'number') this.freq = event.freq;
    if (typeof event.clock === 'number') this.clock = event.clock;
    if (typeof event.active === 'number') this.active = event.active;
    if (typeof event.processed === 'number') this.processed = event.processed;
    if (Array.isArray(event.loadavg)) this.loadavg = event.loadavg.filter((load): load is number => typeof load === 'number');
    if (typeof event.sw_ident === 'string') this.swIdent = event.sw_ident;
    if (typeof event.sw_ver === 'string') this.swVer = event.sw_ver;
    if (typeof event.sw_sys === 'string') this.swSys = event.sw_sys;
    if (subject === 'offline') {
      this.heartbeats.length = 0;
      return;
    }
    this.heard(event.local_received, event.timestamp);
  }

  /** Any event from the worker proves it alive (Celery's State feeds task events to `Worker.event` too). */
  heard(localReceived: number, timestamp: number): void {
    if (!localReceived || !timestamp) return;
    this.clockDriftSeconds = Math.abs(Math.trunc(localReceived) - Math.trunc(timestamp));
    if (this.heartbeats.length > HEARTBEATS_KEPT - 1) this.heartbeats.shift();
    const last = this.heartbeats[this.heartbeats.length - 1];
    if (last === undefined || localReceived > last) this.heartbeats.push(localReceived);
    else this.heartbeats.splice(sortedIndex(this.heartbeats, localReceived), 0, localReceived);
  }

  /** Celery's `Worker.heartbeat_expires`; null before any heartbeat. */
  get heartbeatExpires(): number | null {
    const last = this.heartbeats[this.heartbeats.length - 1];
    return last === undefined ? null : heartbeatExpires(last, this.freq);
  }

  /** Celery's `Worker.alive`. */
  alive(nowSeconds: number): boolean {
    const expires = this.heartbeatExpires;
    return expires !== null && nowSeconds < expires;
  }

  snapshot(nowSeconds: number): WorkerSnapshot {
    const last = this.heartbeats[this.heartbeats.length - 1] ?? null;
    return {
      hostname: this.hostname,
      online: this.alive(nowSeconds),
      pid: this.pid,
      freq: this.freq,
      heartbeatAgeSeconds: last === null ? null : Math.max(0, nowSeconds - last),
      lastHeartbeat: last,
      heartbeatExpires: this.heartbeatExpires,
      active: this.active,
      processed: this.processed,
      loadavg: this.loadavg,
      swIdent: this.swIdent,
      swVer: this.swVer,
      swSys: this.swSys,
      clockDriftSeconds: this.clockDriftSeconds,
      clock: this.clock,
    };
  }
}

/** bisect.insort's position. */
function sortedIndex(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (values[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

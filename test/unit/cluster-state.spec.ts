import { LamportClock } from '../../lib/protocol/lamport-clock';
import { ClusterState } from '../../lib/monitoring/cluster-state';
import { decodeEventMessage, localizeEvent, LocalClock, ReceivedEvent } from '../../lib/monitoring/received-event';
import { filterTasks, taskRateSeries } from '../../lib/monitoring/task-query';
import type { TaskSnapshot } from '../../lib/monitoring/monitored-task';
import { capturedBody, capturedProperties, loadFixture } from '../support/fixtures';

/** Every event a Python 5.2.6 worker (-E) sent in one run, grouped by type (Fx worker_events_by_type). */
const captured = loadFixture('worker_events_by_type');
const ids: Record<string, string> = captured.task_ids;
const allEvents: Record<string, unknown>[] = Object.values(captured.events as Record<string, { event: Record<string, unknown> }[]>)
  .flat()
  .map((entry) => entry.event)
  .sort((a, b) => (a.clock as number) - (b.clock as number));
const WORKER = 'capture-rpc@vm';

/** A receiver's clock whose "now" is set by the test; zone UTC like the capture. */
function testClock(start: number): LocalClock & { at: number } {
  const lamport = new LamportClock();
  const clock = {
    at: start,
    adjust: (other: number) => lamport.adjust(other),
    forward: () => lamport.forward(),
    get value() {
      return lamport.value;
    },
    now: () => clock.at,
    utcOffsetHours: 0,
  };
  return clock;
}

/** Each event as the receiver would hand it over, arriving 10 ms after it was sent. */
function receive(events: Record<string, unknown>[], clock: ReturnType<typeof testClock>): ReceivedEvent[] {
  return events.map((event) => {
    clock.at = (event.timestamp as number) + 0.01;
    return localizeEvent(event, clock);
  });
}

function replay(events: Record<string, unknown>[] = allEvents) {
  const clock = testClock(0);
  const state = new ClusterState({ now: () => clock.at });
  for (const event of receive(events, clock)) state.event(event);
  return { state, clock };
}

describe('ClusterState (Celery events.state.State) replaying a Python Celery 5.2.6 worker', () => {
  it('follows every task to the state State gives it, with args, result, exception and traceback', () => {
    const { state } = replay();
    expect(state.task(ids.success)).toMatchObject({ name: 'proto.add', state: 'SUCCESS', args: '(2, 3)', kwargs: '{}', result: '5', worker: WORKER, retries: 0, rootId: ids.success });
    expect(state.task(ids.success)!.runtime).toBeGreaterThan(0);
    expect(state.task(ids.success)!.timeline.map((entry) => entry.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(state.task(ids.failure)).toMatchObject({ state: 'FAILURE', exception: "ValueError('boom')" });
    expect(state.task(ids.failure)!.traceback).toContain('ValueError: boom');
    // Retried once, then run again and succeeded: the retry count comes from the second task-received.
    expect(state.task(ids.retry_once)).toMatchObject({ state: 'SUCCESS', retries: 1 });
    expect(state.task(ids.retry_once)!.timeline.map((entry) => entry.type)).toContain('task-retried');
    expect(state.task(ids.retry_exhaust)).toMatchObject({ state: 'FAILURE', exception: expect.stringContaining('MaxRetriesExceededError') });
    expect(state.task(ids.autoretry)).toMatchObject({ state: 'FAILURE', retries: 2 });
    // REJECTED ranks below STARTED, so a task rejected after it started stays STARTED: what State says too.
    expect(state.task(ids.rejected)).toMatchObject({ state: 'STARTED', name: 'proto.reject' });
    expect(state.task('0f0f0f0f-revoked-before-sent')).toMatchObject({ state: 'REVOKED', name: null });
  });

  it('shows the worker with its counts and software, then offline after worker-offline', () => {
    const lastHeartbeat = allEvents.filter((event) => event.type === 'worker-heartbeat').pop()!;
    const { state } = replay(allEvents.filter((event) => event.type !== 'worker-offline'));
    expect(state.worker(WORKER)).toMatchObject({ online: true, freq: 2, active: 0, processed: lastHeartbeat.processed, swIdent: 'py-celery', swVer: '5.2.6', swSys: 'Linux', pid: 24262 });
    expect(state.worker(WORKER)!.loadavg).toHaveLength(3);
    const { state: ended } = replay();
    expect(ended.worker(WORKER)).toMatchObject({ online: false, heartbeatAgeSeconds: null });
  });

  it('does not move a task back when its events arrive out of order (state precedence)', () => {
    const events = allEvents.filter((event) => event.uuid === ids.success).reverse(); // succeeded, started, received
    const { state } = replay(events);
    expect(state.task(ids.success)).toMatchObject({ state: 'SUCCESS', name: 'proto.add', args: '(2, 3)', result: '5' });
    expect(state.task(ids.success)!.started).not.toBeNull();
    // The timeline is in time order whatever the arrival order.
    expect(state.task(ids.success)!.timeline.map((entry) => entry.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
  });

  it('counts a worker online while now < last heartbeat + 2 × freq, and notifies when it expires', () => {
    const online = allEvents.find((event) => event.type === 'worker-online')!;
    const clock = testClock(0);
    const state = new ClusterState({ now: () => clock.at });
    const changes: boolean[] = [];
    state.subscribe({ workerChanged: (worker) => changes.push(worker.online) });
    const [received] = receive([online], clock);
    state.event(received);
    clock.at = received.local_received + 3.9;
    state.checkLiveness();
    expect(state.worker(WORKER)).toMatchObject({ online: true, heartbeatExpires: received.local_received + 4 });
    expect(state.worker(WORKER)!.heartbeatAgeSeconds).toBeCloseTo(3.9, 5);
    clock.at = received.local_received + 4;
    state.checkLiveness();
    state.checkLiveness(); // told once
    expect(state.worker(WORKER)!.online).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('counts a task event as news of its worker', () => {
    const taskEvent = allEvents.find((event) => event.type === 'task-received')!;
    const { state } = replay([taskEvent]);
    expect(state.worker(WORKER)!.online).toBe(true);
  });

  it('tells subscribers of each task change, survives a listener that throws, and stops after unsubscribe', () => {
    const clock = testClock(0);
    const state = new ClusterState({ now: () => clock.at });
    const seen: string[] = [];
    state.subscribe({ taskChanged: () => { throw new Error('listener bug'); } });
    const unsubscribe = state.subscribe({ taskChanged: (task, event) => seen.push(`${task.state}:${event?.type}`) });
    const events = receive(allEvents.filter((event) => event.uuid === ids.failure), clock);
    state.event(events[0]);
    state.event(events[1]);
    unsubscribe();
    state.event(events[2]);
    expect(seen).toEqual(['RECEIVED:task-received', 'STARTED:task-started']);
    expect(state.task(ids.failure)!.state).toBe('FAILURE');
  });

  it('forgets the oldest tasks beyond maxTasks, and restores history without overwriting newer events', () => {
    const clock = testClock(0);
    const state = new ClusterState({ maxTasks: 3, now: () => clock.at });
    for (const event of receive(allEvents.filter((event) => event.type === 'task-received').slice(0, 5), clock)) state.event(event);
    expect(state.taskCount).toBe(3);
    const newest = state.tasks()[0];
    state.restoreTasks([{ ...newest, state: 'PENDING' }]);
    expect(state.task(newest.uuid)!.state).toBe('RECEIVED');
  });
});

describe('event messages (Celery EventReceiver)', () => {
  const envelopes = loadFixture('worker_events_envelopes').messages;

  it('reads a task.multi batch (a JSON array) and a single worker event', () => {
    const batch = decodeEventMessage(capturedBody(envelopes['task.multi']), capturedProperties(envelopes['task.multi']));
    expect(batch).toMatchObject({ ok: true, events: [{ type: 'task-received', name: 'proto.add' }] });
    const single = decodeEventMessage(capturedBody(envelopes['worker.heartbeat']), capturedProperties(envelopes['worker.heartbeat']));
    expect(single).toMatchObject({ ok: true, events: [{ type: 'worker-heartbeat', freq: 2 }] });
  });

  it('refuses pickle, bad JSON and bodies without events, saying why', () => {
    expect(decodeEventMessage(Buffer.from('x'), { contentType: 'application/x-python-serialize' })).toMatchObject({ ok: false, reason: expect.stringContaining('content type') });
    expect(decodeEventMessage(Buffer.from('{'), { contentType: 'application/json' })).toMatchObject({ ok: false, reason: expect.stringContaining('not valid JSON') });
    expect(decodeEventMessage(Buffer.from('[1]'), { contentType: 'application/json' })).toMatchObject({ ok: false, reason: expect.stringContaining('no event') });
  });

  it('localises as Celery: timestamp − (utcoffset − ours) × 3600, clock adjusted past the sender, task-sent placed before our clock', () => {
    const clock = testClock(1000);
    clock.utcOffsetHours = -2; // the receiver is at UTC+2
    const event = localizeEvent({ type: 'worker-heartbeat', hostname: 'w', utcoffset: 0, clock: 41, timestamp: 500 }, clock);
    expect(event).toMatchObject({ timestamp: 500 - (0 - -2) * 3600, clock: 41, local_received: 1000 });
    expect(clock.value).toBe(42);
    expect(localizeEvent({ type: 'task-sent', hostname: 'gen1@h', utcoffset: -2, clock: 7, timestamp: 1 }, clock).clock).toBe(41);
    expect(localizeEvent({ type: 'task-started', hostname: 'w', utcoffset: -2, timestamp: 1 }, clock).clock).toBeGreaterThan(41);
  });
});

describe('task queries', () => {
  const { state } = replay();
  const tasks = state.tasks();

  it('filters by name part, state, worker and time range, most recent first', () => {
    expect(filterTasks(tasks, { name: 'ADD' }).map((task) => task.name)).toEqual(expect.arrayContaining(['proto.add']));
    expect(filterTasks(tasks, { name: 'add' }).every((task) => task.name!.includes('add'))).toBe(true);
    const failed = filterTasks(tasks, { state: 'FAILURE' });
    expect(failed.map((task) => task.uuid)).toEqual(expect.arrayContaining([ids.failure, ids.custom_failure]));
    expect(filterTasks(tasks, { worker: 'nobody@nowhere' })).toEqual([]);
    const success = state.task(ids.success)!;
    const around = filterTasks(tasks, { from: success.timestamp! - 0.001, to: success.timestamp! + 0.001 });
    expect(around.map((task) => task.uuid)).toContain(ids.success);
    expect(filterTasks(tasks, { limit: 2 })).toHaveLength(2);
  });

  it('counts succeeded and failed tasks per bucket, with the failure rate', () => {
    const at = (uuid: string) => state.task(uuid)!;
    const sample: TaskSnapshot[] = [at(ids.success), at(ids.failure), at(ids.custom_failure)];
    const now = Math.max(...sample.map((task) => task.timestamp!)) + 1;
    const series = taskRateSeries(sample, { now, windowSeconds: 600, bucketSeconds: 600 });
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ succeeded: 1, failed: 2, failureRate: 2 / 3 });
    expect(taskRateSeries(sample, { now: now + 10_000, windowSeconds: 60, bucketSeconds: 10 }).every((point) => point.succeeded + point.failed === 0)).toBe(true);
  });
});

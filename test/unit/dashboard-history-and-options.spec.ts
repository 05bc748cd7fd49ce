import { resolveDashboardOptions } from '../../lib/dashboard/dashboard-options';
import { InvalidDashboardOptionsError } from '../../lib/errors/invalid-dashboard-options.error';
import { ClusterState } from '../../lib/monitoring/cluster-state';
import { TaskHistoryWriter } from '../../lib/monitoring/history/task-history-writer';
import { taskFromHistoryRow, TASK_HISTORY_COLUMNS, taskHistoryParameters, TaskHistoryRow } from '../../lib/monitoring/history/task-history-row';
import type { TaskHistoryStore } from '../../lib/monitoring/history/task-history-store';
import type { TaskSnapshot } from '../../lib/monitoring/monitored-task';
import type { ReceivedEvent } from '../../lib/monitoring/received-event';

function taskEvent(type: string, uuid: string, at: number, extra: Record<string, unknown> = {}): ReceivedEvent {
  return { type, uuid, hostname: 'w@h', utcoffset: 0, pid: 1, clock: at, timestamp: at, local_received: at, ...extra } as ReceivedEvent;
}

/** Records what the writer asks of a store; the PostgreSQL store itself is tested against a real server (dashboard-api.spec). */
class RecordingStore implements TaskHistoryStore {
  readonly description = 'recording';
  readonly batches: TaskSnapshot[][] = [];
  failNext = false;
  /** Every write fails while true (the database is down). */
  down = false;
  attempts = 0;
  async prepare() {}
  async save(tasks: readonly TaskSnapshot[]) {
    this.attempts += 1;
    if (this.failNext || this.down) {
      this.failNext = false;
      throw new Error('database away');
    }
    this.batches.push([...tasks]);
  }
  async loadRecent() {
    return [];
  }
  async load() {
    return undefined;
  }
  async deleteOlderThan() {
    return 0;
  }
}

describe('TaskHistoryWriter', () => {
  it('writes a burst of events as one batch holding the latest snapshot of each task', async () => {
    const state = new ClusterState({ now: () => 100 });
    const store = new RecordingStore();
    const writer = new TaskHistoryWriter(state, store, { flushIntervalMs: 60_000 });
    writer.start();
    for (let index = 0; index < 30; index += 1) {
      state.event(taskEvent('task-received', `t${index}`, 1, { name: 'tasks.add', args: '(1, 2)' }));
      state.event(taskEvent('task-succeeded', `t${index}`, 2, { result: '3' }));
    }
    state.restoreTasks([{ ...state.task('t0')!, uuid: 'restored' }]); // comes from the store: not written back
    await writer.flush();
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]).toHaveLength(30);
    expect(store.batches[0].every((task) => task.state === 'SUCCESS' && task.result === '3')).toBe(true);
    await writer.stop();
  });

  it('writes at once when a batch is full, and keeps tasks whose write failed for the next batch', async () => {
    const state = new ClusterState({ now: () => 100 });
    const store = new RecordingStore();
    const writer = new TaskHistoryWriter(state, store, { flushIntervalMs: 60_000, batchSize: 5 });
    writer.start();
    store.failNext = true;
    for (let index = 0; index < 5; index += 1) state.event(taskEvent('task-received', `t${index}`, 1));
    // The fifth filled the batch: written (and failed) without waiting for the interval.
    await Promise.resolve();
    expect(store.attempts).toBe(1);
    expect(store.batches).toHaveLength(0);
    await writer.stop();
    expect(store.attempts).toBe(2);
    expect(store.batches.flat().map((task) => task.uuid).sort()).toEqual(['t0', 't1', 't2', 't3', 't4']);
  });

  it('while the database is down, does not try a write per event, and keeps the changes for when it is back', async () => {
    const state = new ClusterState({ now: () => 100 });
    const store = new RecordingStore();
    const writer = new TaskHistoryWriter(state, store, { flushIntervalMs: 60_000, batchSize: 5 });
    writer.start();
    store.down = true;
    for (let index = 0; index < 500; index += 1) {
      state.event(taskEvent('task-received', `t${index}`, 1));
      await Promise.resolve();
    }
    // One failed write, then a pause: not one attempt per event beyond a full batch.
    expect(store.attempts).toBeLessThanOrEqual(2);
    store.down = false;
    await writer.stop();
    expect(new Set(store.batches.flat().map((task) => task.uuid)).size).toBe(500);
  });
});

describe('task history rows', () => {
  it('give back the snapshot they were written from', () => {
    const state = new ClusterState({ now: () => 100 });
    state.event(taskEvent('task-received', 'a', 10.123456, { name: 'tasks.fail', args: "('x',)", kwargs: '{}', retries: 0, root_id: 'a', eta: null }));
    state.event(taskEvent('task-failed', 'a', 11.5, { exception: "ValueError('x')", traceback: 'Traceback…' }));
    const task = state.task('a')!;
    const values = taskHistoryParameters(task);
    const row = Object.fromEntries(TASK_HISTORY_COLUMNS.map((column, index) => [column, values[index]])) as unknown as TaskHistoryRow;
    row.timeline = JSON.parse(row.timeline as unknown as string);
    row.details = JSON.parse(row.details as unknown as string);
    expect(row.updated_at).toEqual(new Date(11500));
    expect(taskFromHistoryRow(row)).toEqual(task);
  });
});

describe('CeleryDashboardModule options', () => {
  it('defaults to /celery, no guards of its own, history on', () => {
    expect(resolveDashboardOptions({})).toEqual({ path: 'celery', guards: [], history: true, maxTasks: 10_000, historyRetentionSeconds: 604_800 });
    expect(resolveDashboardOptions({ path: '/admin/celery/' }).path).toBe('admin/celery');
  });

  it('lists every bad option at once', () => {
    try {
      resolveDashboardOptions({ path: 'a b', guards: [42 as never], history: 'yes' as never, maxTasks: 0, historyRetentionSeconds: -1 });
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidDashboardOptionsError);
      const { problems } = error as InvalidDashboardOptionsError;
      expect(problems).toHaveLength(5);
      expect(problems.join('\n')).toMatch(/path.*guards.*history.*maxTasks.*historyRetentionSeconds/s);
    }
  });
});

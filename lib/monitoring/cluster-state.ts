import { CeleryLogger, SILENT_LOGGER } from '../utils/logger';
import { applyTaskEvent, emptyTask, TaskSnapshot } from './monitored-task';
import { HEARTBEAT_DRIFT_MAX_SECONDS, MonitoredWorker, WorkerSnapshot } from './monitored-worker';
import type { ReceivedEvent } from './received-event';

/** What changed, for subscribers (alerts, the dashboard's live stream, the history writer). */
export interface ClusterListener {
  /** A task event was applied, or a task was restored from history; the task as it is now. */
  taskChanged?(task: TaskSnapshot, event: ReceivedEvent | null): void;
  /**
   * A worker event arrived, or the worker went offline because its heartbeats stopped (then
   * `event` is null and `worker.online` is false).
   */
  workerChanged?(worker: WorkerSnapshot, event: ReceivedEvent | null): void;
}

export interface ClusterStateOptions {
  /** Tasks kept in memory, the oldest forgotten first (Celery's `max_tasks_in_memory`, 10000). */
  maxTasks?: number;
  /** Seconds since the epoch; tests pass their own. */
  now?: () => number;
  logger?: CeleryLogger;
}

const DEFAULT_MAX_TASKS = 10_000;

/**
 * The cluster as its events tell it: Celery's `celery.events.state.State`, which Flower and
 * `celery events` build on. Feed it every event (`event()`); read workers and tasks as plain
 * snapshots; `subscribe()` to hear of each change. Pure: no I/O, no timers (call
 * `checkLiveness()` periodically to learn of workers whose heartbeats stopped).
 *
 * One deliberate difference: Celery forgets a worker on worker-offline; it is kept here, offline,
 * so a dashboard can show it.
 */
export class ClusterState {
  private readonly workersByName = new Map<string, MonitoredWorker>();
  /** Insertion order = first seen; re-inserted on each change, so the oldest untouched go first. */
  private readonly tasksById = new Map<string, TaskSnapshot>();
  private readonly listeners = new Set<ClusterListener>();
  /** Workers reported online, to notice when one expires. */
  private readonly reportedOnline = new Set<string>();
  private readonly driftWarned = new Set<string>();
  private maxTasks: number;
  private readonly now: () => number;
  private readonly logger: CeleryLogger;
  /** Events applied, as Celery's `event_count`. */
  eventCount = 0;

  constructor(options: ClusterStateOptions = {}) {
    this.maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  /** Calls the listener on every change from now on; returns the function that unsubscribes it. */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one event (Celery's `State.event`). Events of other groups are counted and ignored. */
  event(event: ReceivedEvent): void {
    this.eventCount += 1;
    const dash = event.type.indexOf('-');
    const group = dash === -1 ? event.type : event.type.slice(0, dash);
    const subject = dash === -1 ? '' : event.type.slice(dash + 1);
    if (group === 'worker' && typeof event.hostname === 'string') this.workerEvent(subject, event);
    else if (group === 'task' && typeof event.uuid === 'string' && typeof event.hostname === 'string') this.taskEvent(subject, event);
  }

  /**
   * Notifies `workerChanged` for each worker that went offline since the last call because its
   * heartbeats stopped (no event says so); call it every second or so.
   */
  checkLiveness(): void {
    const now = this.now();
    for (const hostname of [...this.reportedOnline]) {
      const worker = this.workersByName.get(hostname);
      if (worker && worker.alive(now)) continue;
      this.reportedOnline.delete(hostname);
      if (worker) this.notifyWorker(worker, null);
    }
  }

  workers(): WorkerSnapshot[] {
    const now = this.now();
    return [...this.workersByName.values()].map((worker) => worker.snapshot(now));
  }

  worker(hostname: string): WorkerSnapshot | undefined {
    return this.workersByName.get(hostname)?.snapshot(this.now());
  }

  /** Every task known, most recently changed first. Snapshots are copies: changing them changes nothing here. */
  tasks(): TaskSnapshot[] {
    return [...this.tasksById.values()].reverse().map(copyTask);
  }

  task(uuid: string): TaskSnapshot | undefined {
    const task = this.tasksById.get(uuid);
    return task && copyTask(task);
  }

  get taskCount(): number {
    return this.tasksById.size;
  }

  /**
   * Puts back tasks from before a restart (the dashboard's history), oldest first, without
   * overwriting one that events have already brought. Listeners hear of each with a null event.
   */
  restoreTasks(tasks: readonly TaskSnapshot[]): void {
    for (const task of tasks) {
      if (this.tasksById.has(task.uuid)) continue;
      this.store(copyTask(task));
      this.notifyTask(task, null);
    }
  }

  private workerEvent(subject: string, event: ReceivedEvent): void {
    const worker = this.getOrCreateWorker(event.hostname);
    worker.workerEvent(subject, event);
    this.warnOnDrift(worker);
    this.notifyWorker(worker, event);
  }

  private taskEvent(subject: string, event: ReceivedEvent): void {
    const uuid = event.uuid as string;
    const task = this.tasksById.get(uuid) ?? emptyTask(uuid);
    if (subject === 'sent') {
      task.client = event.hostname;
    } else {
      task.worker = event.hostname;
      // A task event is news of its worker too (Celery: `worker.event(None, …)`).
      const worker = this.getOrCreateWorker(event.hostname);
      const reported = this.reportedOnline.has(worker.hostname);
      worker.heard(event.local_received, event.timestamp);
      if (!reported && worker.alive(this.now())) this.notifyWorker(worker, null);
    }
    applyTaskEvent(task, subject, event);
    this.store(task);
    this.notifyTask(task, event);
  }

  private getOrCreateWorker(hostname: string): MonitoredWorker {
    let worker = this.workersByName.get(hostname);
    if (!worker) {
      worker = new MonitoredWorker(hostname);
      this.workersByName.set(hostname, worker);
    }
    return worker;
  }

  /**
   * Keeps at least `count` tasks in memory from now on: the largest number any user of a shared
   * state asked for wins (the dashboard's `maxTasks`).
   */
  keepAtLeast(count: number): void {
    this.maxTasks = Math.max(this.maxTasks, count);
  }

  private store(task: TaskSnapshot): void {
    this.tasksById.delete(task.uuid);
    this.tasksById.set(task.uuid, task);
    while (this.tasksById.size > this.maxTasks) {
      const oldest = this.tasksById.keys().next().value as string;
      this.tasksById.delete(oldest);
    }
  }

  private warnOnDrift(worker: MonitoredWorker): void {
    if (worker.clockDriftSeconds === null || worker.clockDriftSeconds <= HEARTBEAT_DRIFT_MAX_SECONDS || this.driftWarned.has(worker.hostname)) return;
    this.driftWarned.add(worker.hostname);
    this.logger.warn(`Substantial drift from ${worker.hostname} may mean clocks are out of sync. Current drift is ${worker.clockDriftSeconds} seconds.`);
  }

  private notifyWorker(worker: MonitoredWorker, event: ReceivedEvent | null): void {
    const snapshot = worker.snapshot(this.now());
    if (snapshot.online) this.reportedOnline.add(worker.hostname);
    else this.reportedOnline.delete(worker.hostname);
    for (const listener of this.listeners) this.call(() => listener.workerChanged?.(snapshot, event));
  }

  private notifyTask(task: TaskSnapshot, event: ReceivedEvent | null): void {
    if (this.listeners.size === 0) return;
    const snapshot = copyTask(task);
    for (const listener of this.listeners) this.call(() => listener.taskChanged?.(snapshot, event));
  }

  /** A listener that throws must not stop the others nor the state. */
  private call(notify: () => void): void {
    try {
      notify();
    } catch (error) {
      this.logger.error(`A cluster state listener failed: ${(error as Error).message}`, (error as Error).stack);
    }
  }
}

function copyTask(task: TaskSnapshot): TaskSnapshot {
  return { ...task, timeline: task.timeline.map((entry) => ({ ...entry })) };
}

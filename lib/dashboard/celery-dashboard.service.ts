import { BeforeApplicationShutdown, ConflictException, Inject, Injectable, Logger, MessageEvent, NotFoundException, OnApplicationBootstrap } from '@nestjs/common';
import { Observable, Subscriber } from 'rxjs';
import type { ResultBackend } from '../backend/result-backend.interface';
import type { Broker } from '../broker/broker.interface';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_RESULT_BACKEND } from '../celery.constants';
import type { CeleryConfig } from '../runtime/celery-config';
import { CeleryClient } from '../client/celery-client';
import type { ControlReply } from '../control/control-client';
import { ClusterMonitor } from '../monitoring/cluster-monitor';
import { MemoryTaskHistoryStore, PostgresTaskHistoryStore, TaskHistoryStore } from '../monitoring/history/task-history-store';
import { TaskHistoryWriter } from '../monitoring/history/task-history-writer';
import type { TaskSnapshot } from '../monitoring/monitored-task';
import type { WorkerSnapshot } from '../monitoring/monitored-worker';
import { filterTasks, TaskFilter, TaskRatePoint, taskRateSeries } from '../monitoring/task-query';
import { parsePythonLiteral } from '../protocol/python-literal';
import { TaskState } from '../protocol/task-states';
import { maskSecretsInText } from '../utils/mask-secrets';
import { CELERY_DASHBOARD_OPTIONS } from './dashboard.constants';
import type { ResolvedDashboardOptions } from './dashboard-options';
import { presentTask } from './present';
import { readRunningTaskProgress, RunningTaskProgress } from './running-task-progress';
import { QueueOverview, QueueRow } from './queue-overview';
import { BeatScheduleAdmin, ScheduleView } from '../beat/beat-schedule-admin';

/** How long the dashboard waits for workers' replies to remote-control requests. */
const CONTROL_TIMEOUT_MS = 1500;

/** A worker as `celery inspect` describes it (Flower's worker page), Python workers included. */
export interface WorkerDetail {
  hostname: string;
  stats: unknown;
  /** Registered tasks with their rate and time limits, as `inspect registered rate_limit time_limit soft_time_limit` lists them. */
  registered: string[];
  activeQueues: unknown[];
  conf: Record<string, unknown>;
}

/** How often the live stream re-sends the worker list, so heartbeat ages move without events. */
const WORKER_TICK_MS = 2000;

/** How often running tasks' progress is read from the result backend while a page is open. */
const PROGRESS_TICK_MS = 1000;

/** What the dashboard's header shows: where it is connected, secrets masked. */
export interface DashboardOverview {
  broker: string;
  resultBackend: string;
  history: string;
  workers: { online: number; total: number };
  tasks: number;
  events: number;
}

/**
 * The dashboard's core (Flower's application object): the app's ClusterMonitor, fed by the
 * `celeryev` exchange, its task history in PostgreSQL, and the actions Flower offers, sent through Celery's
 * remote control and the client. Started at bootstrap; the controller only reads and calls it.
 */
@Injectable()
export class CeleryDashboard implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CeleryDashboard');
  private readonly store: TaskHistoryStore;
  private readonly writer: TaskHistoryWriter;
  /** Open live streams, ended at shutdown so the HTTP server can close without waiting for browsers. */
  private readonly streams = new Set<Subscriber<MessageEvent>>();
  /** The last progress read, shared by every open page within a tick. */
  private progressRead: { at: number; progress: Promise<Record<string, RunningTaskProgress>> } | null = null;
  private readonly queueOverview: QueueOverview;

  constructor(
    @Inject(CELERY_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    @Inject(CELERY_BROKER) private readonly broker: Broker,
    @Inject(CELERY_RESULT_BACKEND) private readonly backend: ResultBackend,
    /** The `beat` options' time zone and rules: the next runs shown are the ones the beats compute. */
    @Inject(CELERY_CONFIG) private readonly config: Pick<CeleryConfig, 'scheduleClock'>,
    private readonly celery: CeleryClient,
    /** The app's monitor (CeleryModule's), shared with the alerts. */
    readonly monitor: ClusterMonitor,
  ) {
    monitor.state.keepAtLeast(options.maxTasks);
    const database = backend.capabilities.postgres;
    this.store = options.history && database ? new PostgresTaskHistoryStore(database.connectedDataSource) : new MemoryTaskHistoryStore();
    this.writer = new TaskHistoryWriter(this.monitor.state, this.store, { logger: this.logger });
    this.queueOverview = new QueueOverview(broker, celery.defaultQueue);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.store instanceof MemoryTaskHistoryStore && this.options.history) {
      this.logger.log(`Task history is kept in memory only: the result backend (${maskSecretsInText(this.backend.description)}) is not a PostgreSQL database.`);
    }
    await this.store.prepare();
    await this.store.deleteOlderThan(new Date(Date.now() - this.options.historyRetentionSeconds * 1000));
    this.monitor.state.restoreTasks(await this.store.loadRecent(this.options.maxTasks));
    this.writer.start();
    await this.monitor.start();
    this.logger.log(`Dashboard mounted at /${this.options.path}, task history in ${this.store.description}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const stream of [...this.streams]) stream.complete();
    await this.monitor.stop();
    await this.writer.stop();
  }

  /** Writes the pending history now (tests, and callers about to read the table). */
  flushHistory(): Promise<void> {
    return this.writer.flush();
  }

  overview(): DashboardOverview {
    const workers = this.monitor.state.workers();
    return {
      broker: maskSecretsInText(this.broker.description),
      resultBackend: maskSecretsInText(this.backend.description),
      history: this.store.description,
      workers: { online: workers.filter((worker) => worker.online).length, total: workers.length },
      tasks: this.monitor.state.taskCount,
      events: this.monitor.state.eventCount,
    };
  }

  workers(): WorkerSnapshot[] {
    return this.monitor.state.workers().sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  tasks(filter: TaskFilter): TaskSnapshot[] {
    return filterTasks(this.monitor.state.tasks(), filter).map(presentTask);
  }

  /** Task names seen, for the filter's suggestions. */
  taskNames(): string[] {
    return [...new Set(this.monitor.state.tasks().map((task) => task.name).filter((name): name is string => name !== null))].sort();
  }

  /**
   * The progress running (STARTED) tasks reported with `updateState` / `setProgress` or
   * Python's `update_state`, by task id, read from the result backend (see
   * running-task-progress.ts for why not from events). Empty on rpc://.
   */
  progress(): Promise<Record<string, RunningTaskProgress>> {
    const now = Date.now();
    if (this.progressRead && now - this.progressRead.at < PROGRESS_TICK_MS / 2) return this.progressRead.progress;
    const running = this.monitor.state.tasks().filter((task) => task.state === TaskState.STARTED).map((task) => task.uuid);
    const progress = readRunningTaskProgress(this.backend, running);
    this.progressRead = { at: now, progress };
    return progress;
  }

  /** A task from memory, or from the history when it is older than the `maxTasks` kept in memory. */
  async task(uuid: string): Promise<TaskSnapshot> {
    return presentTask(await this.findTask(uuid));
  }

  series(options: { windowSeconds: number; bucketSeconds: number }): TaskRatePoint[] {
    return taskRateSeries(this.monitor.state.tasks(), { now: Date.now() / 1000, ...options });
  }

  /**
   * Live updates for the page (server-sent events): `task` and `worker` on each change, the
   * full `workers` list every 2 s so heartbeat ages and online flags stay current, and
   * `progress` (running tasks' progress by id) each second it changes.
   */
  liveUpdates(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      const unsubscribe = this.monitor.state.subscribe({
        taskChanged: (task) => subscriber.next({ type: 'task', data: presentTask(task) }),
        workerChanged: (worker) => subscriber.next({ type: 'worker', data: worker }),
      });
      const timer = setInterval(() => subscriber.next({ type: 'workers', data: this.workers() }), WORKER_TICK_MS);
      let lastProgress = '{}';
      const progressTimer = setInterval(() => {
        this.progress().then(
          (progress) => {
            const text = JSON.stringify(progress);
            if (text !== lastProgress && !subscriber.closed) subscriber.next({ type: 'progress', data: progress });
            lastProgress = text;
          },
          (error: Error) => this.logger.warn(`Could not read running tasks' progress: ${maskSecretsInText(error.message)}`),
        );
      }, PROGRESS_TICK_MS);
      subscriber.next({ type: 'workers', data: this.workers() });
      this.streams.add(subscriber);
      return () => {
        this.streams.delete(subscriber);
        clearInterval(timer);
        clearInterval(progressTimer);
        unsubscribe();
      };
    });
  }

  /** Celery's `revoke` (with `terminate`: stop it if running). Every worker refuses the id from now on. */
  async revoke(uuid: string, terminate: boolean): Promise<{ taskId: string; terminate: boolean }> {
    await this.celery.revoke(uuid, { terminate });
    return { taskId: uuid, terminate };
  }

  /**
   * Sends a failed (or revoked) task again under a new id, with the same name, args and kwargs:
   * the exact values from the result backend when it kept them (`result_extended`), otherwise
   * read back from the event's reprs.
   */
  async retry(uuid: string): Promise<{ taskId: string; retryOf: string }> {
    const task = await this.findTask(uuid);
    if (task.state !== TaskState.FAILURE && task.state !== TaskState.REVOKED) {
      throw new ConflictException(`Task ${uuid} is ${task.state}; only FAILURE or REVOKED tasks can be retried from the dashboard.`);
    }
    if (!task.name) throw new ConflictException(`Task ${uuid} has no known name (its task-received event was not seen), so it cannot be sent again.`);
    const { args, kwargs } = await this.argumentsOf(task);
    const result = await this.celery.send(task.name, args, { kwargs });
    return { taskId: result.id, retryOf: uuid };
  }

  /** Celery's `rate_limit` control command, to every worker or one; resolves with the replies. */
  async setRateLimit(taskName: string, rateLimit: string | null, worker: string | undefined): Promise<ControlReply[]> {
    return this.celery.control.rateLimit(taskName, rateLimit, { reply: true, timeout: 2000, destination: worker ? [worker] : undefined });
  }

  /**
   * The queues the workers consume, with depth, consumers and rate; a paused queue stays listed
   * with the workers it can be resumed on.
   */
  async queues(): Promise<QueueRow[]> {
    const active = await this.celery.control.inspect({ timeout: CONTROL_TIMEOUT_MS }).activeQueues();
    return this.queueOverview.read(active);
  }

  /** Celery's `cancel_consumer` for one queue, on every worker or one: it stays queued, nobody takes it. */
  async pauseQueue(queue: string, worker: string | undefined): Promise<ControlReply[]> {
    return this.celery.control.cancelConsumer(queue, { reply: true, timeout: CONTROL_TIMEOUT_MS, destination: worker ? [worker] : undefined });
  }

  /** Celery's `add_consumer` for one queue, declared as the workers declared it, on every worker or one. */
  async resumeQueue(queue: string, worker: string | undefined): Promise<ControlReply[]> {
    const info = this.queueOverview.declaration(queue);
    return this.celery.control.addConsumer(queue, {
      reply: true,
      timeout: CONTROL_TIMEOUT_MS,
      destination: worker ? [worker] : undefined,
      exchange: info?.exchange?.name,
      exchangeType: info?.exchange?.type,
      routingKey: info?.routing_key,
    });
  }

  /** One worker as remote control describes it: stats, registered tasks with their limits, queues, configuration. */
  async workerDetail(hostname: string): Promise<WorkerDetail> {
    const inspect = this.celery.control.inspect({ destination: [hostname], timeout: CONTROL_TIMEOUT_MS });
    const [stats, registered, activeQueues, conf] = await Promise.all([inspect.stats(), inspect.registered('rate_limit', 'time_limit', 'soft_time_limit'), inspect.activeQueues(), inspect.conf()]);
    if (!(hostname in stats)) throw new NotFoundException(`Worker ${hostname} did not answer within ${CONTROL_TIMEOUT_MS} ms.`);
    return { hostname, stats: stats[hostname], registered: registered[hostname] ?? [], activeQueues: activeQueues[hostname] ?? [], conf: maskConf(conf[hostname] ?? {}) };
  }

  /**
   * The periodic tasks on django-celery-beat's tables in the result backend's PostgreSQL database
   * (where the beat keeps them by default): next and last run, run count, enabled.
   */
  async schedules(): Promise<{ available: boolean; schedules: ScheduleView[] }> {
    const admin = this.scheduleAdmin();
    if (!admin || !(await admin.available())) return { available: false, schedules: [] };
    return { available: true, schedules: await admin.list() };
  }

  /** Enables or disables a periodic task; every beat takes the change within a second (the tables' triggers). */
  async setScheduleEnabled(id: number, enabled: boolean): Promise<ScheduleView> {
    const view = await this.requireScheduleAdmin().setEnabled(id, enabled);
    if (!view) throw new NotFoundException(`No periodic task with id ${id}.`);
    return view;
  }

  /** Sends a periodic task now, with its args, kwargs and options, as django-celery-beat's admin "Run selected tasks" does; its schedule is unchanged. */
  async runSchedule(id: number): Promise<{ taskId: string; name: string }> {
    const entry = await this.requireScheduleAdmin().entry(id);
    if (!entry) throw new NotFoundException(`No periodic task with id ${id}.`);
    const result = await this.celery.send(entry.task, entry.args, entry.sendOptions);
    return { taskId: result.id, name: entry.name };
  }

  private scheduleAdmin(): BeatScheduleAdmin | null {
    const database = this.backend.capabilities.postgres;
    if (!database) return null;
    const { timezone, scheduleRules, relativeNames } = this.config.scheduleClock;
    return new BeatScheduleAdmin(database.connectedDataSource, { timeZone: timezone, rules: scheduleRules, relativeNames });
  }

  private requireScheduleAdmin(): BeatScheduleAdmin {
    const admin = this.scheduleAdmin();
    if (!admin) throw new ConflictException(`Periodic tasks live in django-celery-beat's tables in PostgreSQL; the result backend (${maskSecretsInText(this.backend.description)}) is not a PostgreSQL database.`);
    return admin;
  }

  /** Celery's `shutdown` control command to one worker: a warm shutdown. */
  async shutdownWorker(hostname: string): Promise<{ worker: string }> {
    if (!this.monitor.state.worker(hostname)) throw new NotFoundException(`No worker ${hostname} has been seen by the dashboard.`);
    await this.celery.control.shutdown({ destination: [hostname] });
    return { worker: hostname };
  }

  private async findTask(uuid: string): Promise<TaskSnapshot> {
    const task = this.monitor.state.task(uuid) ?? (await this.store.load(uuid));
    if (!task) throw new NotFoundException(`No task ${uuid} in the dashboard's state or history.`);
    return task;
  }

  private async argumentsOf(task: TaskSnapshot): Promise<{ args: unknown[]; kwargs: Record<string, unknown> }> {
    const stored = await this.backend.getResult(task.uuid).catch(() => null);
    if (stored && Array.isArray(stored.args)) return { args: stored.args, kwargs: stored.kwargs ?? {} };
    try {
      const args = parsePythonLiteral(task.args ?? '()');
      const kwargs = parsePythonLiteral(task.kwargs ?? '{}');
      if (Array.isArray(args) && typeof kwargs === 'object' && kwargs !== null && !Array.isArray(kwargs)) return { args, kwargs: kwargs as Record<string, unknown> };
    } catch {
      // Falls through to the conflict below.
    }
    throw new ConflictException(
      `The arguments of task ${task.uuid} are not known exactly: the result backend did not keep them (result_extended) and the event's repr ${JSON.stringify(maskSecretsInText(task.args ?? ''))} is not a plain literal. Send it again from code.`,
    );
  }
}

/** A worker's configuration with every URL's password masked (a Python worker's conf may name them). */
function maskConf(conf: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(conf).map(([key, value]) => [key, typeof value === 'string' ? maskSecretsInText(value) : value]));
}

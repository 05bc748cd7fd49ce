import { hostname as osHostname } from 'node:os';
import type { RevokedTaskStore } from '../backend/revoked-task-store.interface';
import { ResultBackend } from '../backend/result-backend.interface';
import { Broker, Consumer, DeliveredMessage, DeliveryInfo, QueueDeclaration } from '../broker/broker.interface';
import { ReplaceRequested } from '../errors/replace-requested';
import { TaskRevokedError } from '../errors/task-revoked.error';
import { WorkerLostError } from '../errors/worker-lost.error';
import { TaskMessage } from '../protocol/task-message';
import { MessageSecurity, NO_MESSAGE_SECURITY } from '../security/load-message-security';
import { CeleryLogger } from '../utils/logger';
import { InFlightSet } from '../utils/in-flight-set';
import { createTaskContext, refuseStateAfterTheRun } from './create-task-context';
import type { TaskContext, TaskStateUpdate } from '../task/task-context';
import { DuplicateGuard } from './duplicate-guard';
import { EtaParking } from './eta-parking';
import { ExecutionSettings, resolveExecutionSettings, TimeLimitOverride } from './execution-settings';
import { MessageAdmission } from './message-admission';
import { previousDelivery } from './previous-delivery';
import { ResultRecorder } from './result-recorder';
import { retryDestination, retryMessage } from './retry-message';
import { planRetry } from './retry-policy';
import { RevokedTasks } from './revoked-tasks';
import { RevokedStamps } from './revoked-stamps';
import { Stamps, stampsOfHeaders } from '../protocol/stamps';
import { pythonRepr } from '../protocol/python-repr';
import { SettlingTask, TaskSettlement } from './settlement';
import { TaskDefinition, TaskOptions } from '../task/task-definition';
import { TaskSignals } from './task-signals';
import { failed, RetriedOutcome, SettledOutcome, TaskOutcome } from './task-outcome';
import { NO_TRACING, RunEnd, RunTrace, TaskTracer } from '../tracing/task-tracer';
import { TaskRegistry } from '../task/task-registry';
import { RunResult, TaskRun } from './task-run';
import { TaskThrottle } from './task-throttle';
import { expandHostname, WorkerOptions } from './worker-options';
import { PartialTaskMessage, WorkerMonitor } from './worker-monitor';
import { WorkerObservers } from './worker-observers';
import { WorkflowSteps } from './workflow-steps';
import type { CeleryQueueOptions } from '../broker/celery-queue';
import { WorkerNotConsumingError } from '../errors/worker-not-consuming.error';
import { TaskPools } from './pool/task-pools';

import type { ActiveTask } from './task-run';
export type { ActiveTask };

/** A message accepted for execution: decoded, its task known, its arguments bound, its settings decided once. */
interface AcceptedTask extends SettlingTask {
  readonly message: TaskMessage;
  readonly task: TaskDefinition;
  readonly settings: ExecutionSettings;
  readonly call: () => unknown;
  /** Its consumer span once it runs (tracing): current while it runs and is settled. */
  trace?: RunTrace;
}

export interface WorkerDependencies {
  broker: Broker;
  backend: ResultBackend;
  registry: TaskRegistry;
  options: WorkerOptions;
  logger: CeleryLogger;
  /**
   * How a queue name is declared (Celery's `task_queues`, the one place that knows); `requested`
   * is what an `add_consumer` request asks for a name not known there.
   */
  declareQueue(name: string, requested?: CeleryQueueOptions): QueueDeclaration;
  /** Keeps revoked ids across restarts; without it they live in memory, as in Celery. */
  revokedStore?: RevokedTaskStore;
  /** The app's task signal handlers (`@OnTaskSignal()`). */
  signals?: TaskSignals;
  /** Observers of the worker: Celery events, metrics. */
  monitors?: WorkerMonitor[];
  /** Chains, callbacks, errbacks and chord joins of the tasks run here (the canvas); none when omitted. */
  workflow?: WorkflowSteps;
  /** Which signed messages are accepted, and the signer of retries (Celery's `auth` serializer); plain JSON when omitted. */
  security?: MessageSecurity;
  /** Consumer spans (`run/<task>`) under the context each message carries, producer spans for retries; none when omitted. */
  tracer?: TaskTracer;
  /** Where tasks run (pool/task-pools.ts): the process pool when configured; inline only when omitted. */
  pools?: TaskPools;
}

/**
 * Results that may wait to be stored, per slot, once their tasks gave the slot back (see
 * execute()): enough for the group commit to fill large batches (measured: 4,672 → 5,486 tasks/s
 * draining into PostgreSQL against 1 per slot), few enough to bound what waits in memory.
 */
export const BACKGROUND_STORES_PER_SLOT = 10;

/** What a run's span records of how it was settled: Celery's state, the error of a failure, the reason of a retry. */
function runEnd(settled: SettledOutcome, outcome: TaskOutcome): RunEnd {
  if (settled.state === 'FAILURE') return { state: 'FAILURE', error: settled.error };
  if (settled.state === 'RETRY') return { state: 'RETRY', retryReason: retryReason(settled) };
  return { state: settled.state === 'HANDED_BACK' ? outcome.state : settled.state };
}

/** Python's `str(Retry)`: "Retry in 5s: ValueError('boom')" — here with the cause's message. */
function retryReason(retry: RetriedOutcome): string {
  const seconds = Math.max(0, Math.round((retry.eta.getTime() - Date.now()) / 1000));
  const cause = retry.cause instanceof Error ? `${retry.cause.name}: ${retry.cause.message}` : retry.cause === undefined ? 'retry()' : String(retry.cause);
  return `Retry in ${seconds}s: ${cause}`;
}

// setTimeout takes at most 2^31-1 ms; longer ETAs are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A Celery worker (`celery worker`): consumes the task queues with a prefetch bound, runs up to
 * `concurrency` tasks at once, and settles each outcome in one place (settlement.ts): stored,
 * workflow continued, monitors and signal handlers told, message acked at Celery's moment (before running
 * by default, after the outcome is stored with acksLate). Bad messages are refused one by one
 * without ever stopping the worker.
 */
export class CeleryWorker {
  readonly hostname: string;
  /** Publisher node name of the messages this worker sends (retries), as Python's `gen<pid>@host`. */
  private readonly origin = `gen${process.pid}@${osHostname()}`;
  private readonly recorder: ResultRecorder;
  private readonly settlement: TaskSettlement;
  private consumer: Consumer | null = null;
  /** The start in progress, if any: stop() waits for it. */
  private starting: Promise<void> | null = null;
  private readonly waiting: AcceptedTask[] = [];
  private readonly scheduled = new Map<AcceptedTask, NodeJS.Timeout>();
  /** Tasks in a run slot now (in-flight-set.ts says why not a Map). */
  private readonly active = new InFlightSet<{ accepted: AcceptedTask; run: TaskRun }>();
  /** Each started task's whole handling, until settled: a redelivered copy waits for it. */
  private readonly handling = new InFlightSet<{ accepted: AcceptedTask; settled: Promise<void> }>();
  /** Work started outside a run slot (refusals, revokes, guard look-ups, parking): stop() waits for it. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly throttle = new TaskThrottle<AcceptedTask>((accepted) => {
    this.waiting.push(accepted);
    this.startWaitingTasks();
  });
  private prefetch = 0;
  private readonly revoked: RevokedTasks;
  private readonly revokedStamps = new RevokedStamps();
  private readonly parking: EtaParking;
  private stopping = false;
  private processed = 0;
  /** Runs per task name (Celery's `stats.total`). */
  private readonly processedByName = new Map<string, number>();
  /** Time limits set at run time (Celery's `control time_limit`), over the tasks' own. */
  private readonly timeLimitOverrides = new Map<string, TimeLimitOverride>();
  private startedAt: Date | null = null;
  /** Results of tasks that gave their slot back and are still being settled (see execute()). */
  private storing = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly observers: WorkerObservers;
  private readonly admission: MessageAdmission;
  private readonly duplicates: DuplicateGuard;
  private readonly startupSteps: (() => Promise<void>)[] = [];
  private readonly tracer: TaskTracer;
  // ── The pool seam (pool/): where task code runs, and how many run slots it gives ──
  private readonly pools: TaskPools;
  /** Tasks run at once: `concurrency`, or the process pool's children (they change with pool_grow, autoscale…). */
  private slots: number;

  constructor(private readonly deps: WorkerDependencies) {
    this.pools = deps.pools ?? new TaskPools('inline', null, null, 0);
    this.slots = this.pools.slots(deps.options.concurrency);
    this.hostname = expandHostname(deps.options.hostname);
    this.observers = new WorkerObservers(deps.monitors, deps.signals, deps.logger);
    this.recorder = new ResultRecorder(deps.backend, this.hostname);
    this.revoked = new RevokedTasks(deps.revokedStore);
    const security = deps.security ?? NO_MESSAGE_SECURITY;
    this.tracer = deps.tracer ?? NO_TRACING;
    this.admission = new MessageAdmission(deps.registry, deps.options.maxMessageBytes, this.observers, deps.logger, security.signatures);
    this.duplicates = new DuplicateGuard(deps.backend, deps.logger);
    this.parking = new EtaParking(
      deps.broker,
      { thresholdSeconds: deps.options.etaParkThresholdSeconds, queueType: deps.options.delayedDeliveryQueueType },
      deps.logger,
    );
    this.settlement = new TaskSettlement({
      recorder: this.recorder,
      observers: this.observers,
      logger: deps.logger,
      hostname: this.hostname,
      workflow: deps.workflow,
      republish: ({ message, delivery }, retry) => this.republish(message, delivery.deliveryInfo, retry, security),
    });
  }

  get isRunning(): boolean {
    return this.consumer !== null && !this.stopping;
  }

  /** Tasks executing now (Celery's `inspect active`). */
  activeTasks(): ActiveTask[] {
    return this.active.values().map(({ run }) => run);
  }

  /** Tasks received and waiting for a free slot (Celery's `inspect reserved`). */
  reservedTasks(): TaskMessage[] {
    return [...this.waiting, ...this.throttle.heldItems()].map((accepted) => accepted.message);
  }

  /**
   * Revokes tasks (Celery's `revoke`): they will not run here, now or after a restart when a
   * revoked-task store is configured. With `terminate`, those running now are interrupted and
   * stored REVOKED. Returns the ids that were running and got terminated.
   */
  async revoke(ids: readonly string[], options: { terminate?: boolean } = {}): Promise<string[]> {
    await this.revoked.add(ids);
    if (!options.terminate) return [];
    const wanted = new Set(ids);
    const running = this.activeTasks().filter((task) => wanted.has(task.message.id));
    for (const task of running) task.interrupt(new TaskRevokedError('terminated'));
    return running.map((task) => task.message.id);
  }

  /**
   * Revokes tasks by stamp (Celery 5.3+'s `revoke_by_stamped_headers`): `{stamp: value or
   * [values]}`. Messages carrying a matching stamp are not run here from now on; with `terminate`,
   * the matching tasks running now are interrupted and stored REVOKED. Returns, per stamp, the
   * values of the tasks that got terminated.
   */
  revokeByStamps(headers: Stamps, options: { terminate?: boolean } = {}): Record<string, unknown[]> {
    this.revokedStamps.add(headers);
    const terminated: Record<string, unknown[]> = {};
    if (!options.terminate) return terminated;
    const wanted = new RevokedStamps();
    wanted.add(headers);
    for (const task of this.activeTasks()) {
      const hit = wanted.match(stampsOfHeaders(task.message.customHeaders));
      if (!hit) continue;
      for (const [name, value] of Object.entries(hit)) terminated[name] = [...new Set([...(terminated[name] ?? []), value])];
      task.interrupt(new TaskRevokedError('terminated'));
    }
    return terminated;
  }

  /** Revoked ids this worker knows (Celery's `inspect revoked`). */
  revokedIds(): string[] {
    return this.revoked.ids();
  }

  /**
   * Changes a task's rate limit on this worker now (Celery's `control rate_limit`): "10/s",
   * "100/m", "1000/h", a number per second, or null/0 for none.
   */
  setRateLimit(taskName: string, limit: string | number | null): void {
    this.throttle.setLimit(taskName, limit);
  }

  /** Tasks held until their ETA (Celery's `inspect scheduled`). */
  scheduledTasks(): TaskMessage[] {
    return [...this.scheduled.keys()].map((accepted) => accepted.message);
  }

  /**
   * How each task held here (running, waiting for a slot or for its ETA) was delivered, by task
   * id: Celery's request `delivery_info`, for remote-control replies.
   */
  deliveryInfoById(): Map<string, DeliveryInfo> {
    const held = [...this.active.values().map(({ accepted }) => accepted), ...this.waiting, ...this.throttle.heldItems(), ...this.scheduled.keys()];
    return new Map(held.map((accepted) => [accepted.message.id, accepted.delivery.deliveryInfo]));
  }

  /** Adds an observer after construction, as if it had been given in `monitors` (remote control uses it). */
  addMonitor(monitor: WorkerMonitor): void {
    this.observers.add(monitor);
  }

  /**
   * Adds work that every start() awaits before any task queue is consumed, as Celery's consumer
   * steps before `Tasks` (Mingle syncs revoked ids with the other workers there). A step that
   * rejects fails the start.
   */
  addStartupStep(step: () => Promise<void>): void {
    this.startupSteps.push(step);
  }

  /** Tasks run since start, by name (Celery's `inspect stats` → `total`). */
  processedTotals(): Record<string, number> {
    return Object.fromEntries(this.processedByName);
  }

  /**
   * The registered tasks with their options (Celery's `inspect registered`), by name: the rate
   * and time limits in force, `control rate_limit` / `time_limit` changes included, as Celery
   * shows the task attributes those commands set.
   */
  registeredTasks(): { name: string; options: TaskOptions; rateLimit: string | number | null; timeLimit: number | null; softTimeLimit: number | null; limitsSetByControl: boolean }[] {
    return this.deps.registry.names().map((name) => {
      const options = this.deps.registry.get(name)!.options;
      const override = this.timeLimitOverrides.get(name);
      return {
        name,
        options,
        rateLimit: this.throttle.limitOf(name, options.rateLimit),
        timeLimit: override ? override.timeLimit : (options.timeLimit ?? null),
        softTimeLimit: override ? override.softTimeLimit : (options.softTimeLimit ?? null),
        limitsSetByControl: override !== undefined,
      };
    });
  }

  /** The worker's resolved options: queues, concurrency, prefetch multiplier… */
  get options(): Readonly<WorkerOptions> {
    return this.deps.options;
  }

  /** The current prefetch window (grows by one per held ETA task). */
  get prefetchCount(): number {
    return this.prefetch;
  }

  /** When start() last ran, or null. */
  get runningSince(): Date | null {
    return this.startedAt;
  }

  /**
   * Changes a task's time limits on this worker now (Celery's `control time_limit`), in seconds;
   * null removes one. The message's own `timelimit` header still wins.
   */
  setTimeLimits(taskName: string, timeLimit: number | null, softTimeLimit: number | null): void {
    this.timeLimitOverrides.set(taskName, { timeLimit, softTimeLimit });
  }

  get processedCount(): number {
    return this.processed;
  }

  // ── Queues consumed at run time: Celery's add_consumer / cancel_consumer ──

  /** The queues consumed now, by name: worker.queues at start, then as addConsumer / cancelConsumer change them. */
  private readonly consuming = new Map<string, QueueDeclaration>();

  /** The queues consumed now, as declared (Celery's `inspect active_queues`). */
  consumedQueues(): QueueDeclaration[] {
    return [...this.consuming.values()];
  }

  /**
   * Starts consuming `queue` while running (Celery's `add_consumer`), under the same prefetch
   * window and ETA parking as the queues consumed since start. Declared as `celery worker -Q`
   * would: a queue of the `queues` option (Celery's `task_queues`), or one this app declared
   * before, as it is; a new name as `requested` says, by default with a direct exchange and a
   * binding key named like the queue. Resolves true once consumed; false when it already was.
   * Rejects when the broker refuses the declaration (consuming nothing new).
   */
  async addConsumer(queue: string, requested?: CeleryQueueOptions): Promise<boolean> {
    const consumer = this.consumerWhileRunning(`add_consumer("${queue}")`);
    if (this.consuming.has(queue)) return false;
    const declaration = this.deps.declareQueue(queue, requested);
    this.consuming.set(queue, declaration); // a second request meanwhile finds it taken
    try {
      await this.parking.add(declaration);
      await consumer.addQueue(declaration);
    } catch (error) {
      if (this.consuming.get(queue) === declaration) this.consuming.delete(queue);
      throw error;
    }
    this.deps.logger.log(`Worker ${this.hostname} started consuming from ${queue}`);
    return true;
  }

  /**
   * Stops consuming `queue` while the others go on (Celery's `cancel_consumer`); tasks already
   * received from it still run. Resolves true when it was consumed, false otherwise.
   */
  async cancelConsumer(queue: string): Promise<boolean> {
    const consumer = this.consumerWhileRunning(`cancel_consumer("${queue}")`);
    if (!this.consuming.delete(queue)) return false;
    await consumer.cancelQueue(queue);
    this.deps.logger.log(`Worker ${this.hostname} no longer consuming from ${queue}`);
    return true;
  }

  private consumerWhileRunning(request: string): Consumer {
    if (!this.consumer || this.stopping) throw new WorkerNotConsumingError(this.hostname, request);
    return this.consumer;
  }

  /** Starts consuming; a second call while starting shares the first's promise. */
  start(): Promise<void> {
    this.starting ??= this.startConsuming().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async startConsuming(): Promise<void> {
    if (this.consumer) return;
    const { options, broker, logger } = this.deps;
    this.stopping = false;
    this.duplicates.assertUsable(this.deps.registry);
    await this.revoked.load();
    for (const step of this.startupSteps) await step();
    await this.pools.start(this.deps.registry, () => this.active.size + this.waiting.length, (processes) => this.resizeSlots(processes));
    this.startedAt = new Date();
    this.prefetch = this.basePrefetch;
    const queues = options.queues.map((name) => this.deps.declareQueue(name));
    this.consuming.clear();
    for (const queue of queues) this.consuming.set(queue.name, queue);
    // The delay levels (Celery 5.5's 28 exchanges and queues, and the queues' bindings) are
    // declared while the worker already consumes: only a far-ETA task needs them, and it waits
    // for them (parkOrSchedule). A restart's time to consuming is not spent on them.
    const parkingPrepared = this.parking.prepare(queues);
    this.consumer = await broker.consume({
      queues,
      prefetch: this.prefetch,
      onMessage: (delivery) => this.receive(delivery),
    });
    this.observers.notify('workerStarted');
    logger.log(
      `Worker ${this.hostname} consuming ${options.queues.join(', ')} on ${broker.description} ` +
        `(concurrency ${this.slots}${this.pools.process ? ' in the process pool' : ''}, tasks: ${this.deps.registry.names().join(', ') || 'none'})`,
    );
    // Logged as consuming begins (tasks may run from now on); start() ends once parking is set up.
    await parkingPrepared;
  }

  /**
   * Warm shutdown: stop consuming, hand back what has not started (requeued for another
   * worker), let running tasks finish and their outcomes settle up to the shutdown timeout, then
   * abort the rest. Resolves once everything the worker started is done.
   */
  async stop(): Promise<void> {
    // A stop asked for while starting (a remote shutdown reaches the mailbox before consuming
    // begins) stops what that start set up, rather than leaving it to consume afterwards.
    await this.starting?.catch(() => undefined);
    if (!this.consumer || this.stopping) return;
    this.stopping = true;
    this.observers.notify('workerStopping');
    const { logger, options } = this.deps;
    const deadline = Date.now() + options.shutdownTimeoutMs;
    await this.consumer.cancel();
    for (const [accepted, timer] of this.scheduled) {
      clearTimeout(timer);
      accepted.delivery.reject(true);
    }
    this.scheduled.clear();
    for (const accepted of [...this.waiting.splice(0), ...this.throttle.drain()]) accepted.delivery.reject(true);
    if (!this.idle) {
      logger.log(`Worker ${this.hostname} waiting up to ${options.shutdownTimeoutMs} ms for ${this.active.size} running task(s) and ${this.storing} outcome(s) being stored`);
      if (!(await this.waitForIdle(options.shutdownTimeoutMs))) {
        logger.warn(`Worker ${this.hostname} aborting ${this.active.size} task(s) still running after the shutdown timeout (${this.storing} outcome(s) still being stored)`);
        for (const task of this.activeTasks()) task.abort.abort(new Error('worker shutdown'));
        await this.waitForIdle(1_000);
      }
    }
    await this.backgroundDone(Math.max(deadline - Date.now(), 1_000));
    await this.pools.stop();
    this.consumer = null;
    this.observers.notify('workerStopped');
    logger.log(`Worker ${this.hostname} stopped after ${this.processed} task(s)`);
  }

  private receive(delivery: DeliveredMessage): void {
    if (this.stopping) {
      delivery.reject(true);
      return;
    }
    const admission = this.admission.admit(delivery);
    if (admission.kind === 'untrusted') return;
    if (admission.kind === 'refused') return this.refuse(delivery, admission.message, admission.error, admission.task);
    const { message, task } = admission;
    const settings = resolveExecutionSettings(message, task.options, this.deps.options, this.timeLimitOverrides.get(task.name));
    // A redelivered acksLate message is read back anyway (earlierDelivery), SUCCESS included: one read is enough.
    const guardedHere = settings.skipIfSucceeded && !(settings.acksLate && delivery.deliveryInfo.redelivered);
    if (guardedHere) this.inBackground(this.acceptUnlessSucceeded(delivery, message, task, settings));
    else this.accept(delivery, message, task, settings);
  }

  /** A message refused at the door is settled as a FAILURE like any other (stored, errbacks, chord), then rejected. */
  private refuse(delivery: DeliveredMessage, message: TaskMessage | PartialTaskMessage | null, error: Error, task?: TaskDefinition): void {
    if (!message) return this.settlement.rejectUnreadable(delivery, error);
    this.inBackground(this.settlement.settle({ delivery, message, task, acked: false }, failed(error, 'refused')));
  }

  /**
   * The duplicate-delivery guard (`skipIfSucceeded`): a task whose SUCCESS is already stored is
   * acked without running, with one log line and no task event (it was not received as new work).
   */
  private async acceptUnlessSucceeded(delivery: DeliveredMessage, message: TaskMessage, task: TaskDefinition, settings: ExecutionSettings): Promise<void> {
    const succeeded = await this.duplicates.alreadySucceeded(message);
    if (this.stopping) return delivery.reject(true);
    if (!succeeded) return this.accept(delivery, message, task, settings);
    const copy = delivery.deliveryInfo.redelivered ? 'redelivered message' : 'duplicate message';
    this.deps.logger.log(`Task ${message.task}[${message.id}] already succeeded: ${copy} acked without running it (skipIfSucceeded)`);
    delivery.ack();
  }

  private accept(delivery: DeliveredMessage, message: TaskMessage, task: TaskDefinition, settings: ExecutionSettings): void {
    this.observers.notify('taskReceived', message);
    if (this.isRevoked(message)) {
      this.inBackground(this.settlement.settle({ delivery, message, task, settings, acked: false }, { state: 'REVOKED', reason: 'revoked' }));
      return;
    }
    let call: () => unknown;
    try {
      call = task.prepare(message.args, message.kwargs);
    } catch (error) {
      return this.refuse(delivery, message, error as Error, task);
    }
    const accepted: AcceptedTask = { delivery, message, task, settings, call, acked: false };
    if (message.eta && message.eta.getTime() > Date.now()) this.parkOrSchedule(accepted);
    else this.enqueue(accepted);
  }

  /**
   * A task due in more than `etaParkThresholdSeconds` is parked in the broker's delay queues
   * (EtaParking), holding no prefetch slot; a nearer one, or one that could not be parked, is held.
   */
  private parkOrSchedule(accepted: AcceptedTask): void {
    const eta = accepted.message.eta!;
    if (!this.parking.mayWant(eta)) return this.schedule(accepted);
    this.inBackground(
      this.parking
        .ready()
        .then(() => this.parking.wants(eta) && this.parking.park(accepted.delivery, eta))
        .then((parked) => {
          if (parked) return;
          if (this.stopping) accepted.delivery.reject(true);
          else this.schedule(accepted);
        }),
    );
  }

  private get basePrefetch(): number {
    return this.slots * this.deps.options.prefetchMultiplier;
  }

  /**
   * Holds a task until its ETA, unacked as Celery does. Each held task widens the prefetch
   * window by one (Celery's `qos.increment_eventually`), so ETA tasks never starve the others.
   */
  private schedule(accepted: AcceptedTask): void {
    const delay = Math.min(accepted.message.eta!.getTime() - Date.now(), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.scheduled.delete(accepted);
      if (accepted.message.eta!.getTime() > Date.now()) this.schedule(accepted);
      else {
        this.enqueue(accepted);
        this.updatePrefetch();
      }
    }, delay);
    this.scheduled.set(accepted, timer);
    this.updatePrefetch();
  }

  private updatePrefetch(): void {
    const wanted = this.basePrefetch + this.scheduled.size;
    if (wanted === this.prefetch || !this.consumer || this.stopping) return;
    this.prefetch = wanted;
    this.consumer.setPrefetch(wanted).catch((error: Error) => this.deps.logger.warn(`Could not change the prefetch to ${wanted}: ${error.message}`));
  }

  private enqueue(accepted: AcceptedTask): void {
    if (!this.throttle.admit(accepted.task.name, accepted.task.options.rateLimit, accepted)) return;
    this.waiting.push(accepted);
    this.startWaitingTasks();
  }

  private startWaitingTasks(): void {
    while (this.active.size < this.slots && this.waiting.length > 0 && !this.stopping) {
      const accepted = this.waiting.shift()!;
      const handled = { accepted, settled: Promise.resolve() };
      const entry = this.handling.add(handled);
      handled.settled = this.execute(accepted).finally(() => this.handling.delete(entry));
    }
  }

  /**
   * Runs a task in a slot and settles its outcome. A task acked before it ran gives its slot back
   * once its code has returned, and the next one starts while its outcome is settled (results are
   * batched by the backend's group commit): the slot waits on the task, not on PostgreSQL. At most
   * BACKGROUND_STORES_PER_SLOT × `concurrency` outcomes wait so, bounding what is held in memory.
   * An acksLate task keeps its slot: its message stays unacked until the store, and the prefetch
   * window lets no new one in before that anyway.
   */
  private async execute(accepted: AcceptedTask): Promise<void> {
    const run = new TaskRun(accepted.message, !accepted.settings.acksLate);
    const slot = this.active.add({ accepted, run });
    let slotHeld = true;
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      this.active.delete(slot);
      this.processed++;
      this.processedByName.set(accepted.message.task, (this.processedByName.get(accepted.message.task) ?? 0) + 1);
      this.startWaitingTasks();
      this.notifyIdleWhenIdle();
    };
    try {
      const outcome = await this.runTask(accepted, run);
      if (!outcome) return;
      const trace = accepted.trace;
      const settleInBackground = !accepted.settings.acksLate && this.storing < BACKGROUND_STORES_PER_SLOT * this.slots;
      if (settleInBackground) {
        this.storing++;
        freeSlot();
      }
      try {
        // Settled under the run's span: the retry, chain step or callback it sends is its child.
        const settled = trace ? await trace.within(() => this.settlement.settle(accepted, outcome)) : await this.settlement.settle(accepted, outcome);
        trace?.end(runEnd(settled, outcome));
      } finally {
        if (settleInBackground) {
          this.storing--;
          this.notifyIdleWhenIdle();
        }
      }
    } finally {
      freeSlot();
    }
  }

  /** Revoked by id, or by one of its stamps (Celery's `Request.revoked`, which logs the stamp that matched). */
  private isRevoked(message: TaskMessage): boolean {
    if (this.revoked.has(message.id)) return true;
    if (this.revokedStamps.size === 0) return false;
    const hit = this.revokedStamps.match(stampsOfHeaders(message.customHeaders));
    if (hit) this.deps.logger.log(`Discarding revoked task: ${message.task}[${message.id}] (revoked by header: ${pythonRepr(hit)})`);
    return hit !== null;
  }

  /** Decides whether the task runs, runs it, and says how it ended; null when it was settled already (see earlierDelivery). */
  private async runTask(accepted: AcceptedTask, run: TaskRun): Promise<TaskOutcome | null> {
    const { delivery, message, settings } = accepted;
    const unwanted = message.expires && message.expires.getTime() <= Date.now() ? 'expired' : this.isRevoked(message) ? 'revoked' : null;
    if (unwanted) return { state: 'REVOKED', reason: unwanted };
    if (settings.acksLate && delivery.deliveryInfo.redelivered) {
      const earlier = await this.earlierDelivery(accepted);
      if (earlier !== 'run') return earlier;
    }
    if (!settings.acksLate) {
      delivery.ack();
      accepted.acked = true;
    }
    if (settings.trackStarted) await this.recorder.started(message, delivery.deliveryInfo.routingKey).catch((error: Error) => this.logStoreError(message, error));
    const context = createTaskContext(message, delivery.deliveryInfo, this.hostname, () => run.abort.signal, (update) => this.storeStateOf(accepted, update));
    this.observers.notify('taskStarted', message);
    if (this.tracer.enabled) accepted.trace = this.tracer.startRun(message, { ...delivery.deliveryInfo, hostname: this.hostname });
    const trace = accepted.trace;
    const startedAt = performance.now();
    const result = trace ? await trace.within(() => this.runBody(accepted, run, context)) : await this.runBody(accepted, run, context);
    accepted.run = { context, runtimeMs: performance.now() - startedAt };
    return this.outcomeOf(accepted, result);
  }

  /** The prerun signal, then the task's code under its time limits. */
  private async runBody(accepted: AcceptedTask, run: TaskRun, context: TaskContext): Promise<RunResult> {
    const { message } = accepted;
    await this.observers.sendSignal('prerun', context);
    const { settings } = accepted;
    // The inline pool allocates nothing more per task: the prepared call runs here.
    const call = settings.pool === 'inline' ? accepted.call : this.processPoolCall(accepted, run);
    return run.execute(call, context, settings, (seconds) => {
      const code = settings.pool === 'process' ? 'its pool child was killed and replaced' : 'though its code may still be running';
      this.deps.logger.warn(`Task ${message.task}[${message.id}] exceeded its hard time limit of ${seconds} s: failed and its slot freed, ${code}`);
    });
  }

  /** The call that runs a task in the process pool: the child gets its message, its state updates come back here. */
  private processPoolCall(accepted: AcceptedTask, run: TaskRun): () => unknown {
    const { message, delivery, task, settings } = accepted;
    const job = { message, deliveryInfo: delivery.deliveryInfo, hostname: this.hostname, storeState: (update: Required<TaskStateUpdate>) => this.storeStateOf(accepted, update) };
    return this.pools.callFor(settings.pool, accepted.call, job, run, task.options);
  }

  /** The process pool and its autoscaler when they run (remote control's pool commands, `stats`). */
  get taskPools(): TaskPools {
    return this.pools;
  }

  /** The process pool grew or shrank: as many slots, and the prefetch window with them (Celery's `_update_prefetch_count`). */
  private resizeSlots(processes: number): void {
    this.slots = processes;
    this.updatePrefetch();
    this.startWaitingTasks();
  }

  /** Publishes a retry (Celery's `Task.retry()`), with a producer span of its own when tracing. */
  private async republish(message: TaskMessage, deliveryInfo: DeliveryInfo, retry: RetriedOutcome, security: MessageSecurity): Promise<void> {
    const trace = this.tracer.startPublish({ ...message, retries: message.retries + 1 }, retryDestination(deliveryInfo, retry.queue));
    try {
      await this.deps.broker.publish(retryMessage(message, deliveryInfo, retry.eta, this.origin, retry.queue, security.signer, trace.headers));
    } catch (error) {
      trace.end(error);
      throw error;
    }
    trace.end();
  }

  /** A run's result as Celery reads it: a revoke, a replacement, a retry (asked, or autoretried), or a failure. */
  private outcomeOf(accepted: AcceptedTask, result: RunResult): TaskOutcome {
    if (result.ok) return { state: 'SUCCESS', value: result.value };
    if (result.error instanceof TaskRevokedError) return { state: 'REVOKED', reason: result.error.reason };
    if (result.error instanceof ReplaceRequested) return { state: 'IGNORED', replacement: result.error.replacement };
    const plan = planRetry(accepted.message, accepted.task.options, result.error);
    if (plan.kind === 'retry') return { state: 'RETRY', cause: plan.cause, eta: plan.eta, queue: plan.queue };
    return failed(plan.kind === 'exhausted' ? plan.error : result.error, 'raised');
  }

  /**
   * A redelivered acksLate message may have been handled already (previous-delivery.ts). Done
   * (its outcome stored, only the ack lost with its channel): acked here without running it twice
   * (null). Begun on a worker that was lost, with rejectOnWorkerLost false (Celery's
   * `reject_on_worker_lost`): a FAILURE with WorkerLostError, as Celery stores for a pool process
   * that died. Otherwise 'run'.
   */
  private async earlierDelivery(accepted: AcceptedTask): Promise<TaskOutcome | 'run' | null> {
    const { delivery, message, settings } = accepted;
    // Redelivered after a connection loss while this very worker still runs it: wait for that run
    // to settle (its outcome stored, or its message handed back), then see what it left.
    const earlier = this.handling.values().find((other) => other.accepted !== accepted && other.accepted.message.id === message.id);
    if (earlier) await earlier.settled.catch(() => undefined);
    const previous = await previousDelivery(this.deps.backend, message, this.deps.logger);
    if (previous.kind === 'done') {
      this.deps.logger.log(`Task ${message.task}[${message.id}] redelivered after it was done (${previous.state} stored, its ack lost): acked, not run again`);
      delivery.ack();
      accepted.acked = true;
      return null;
    }
    if (previous.kind !== 'lost' || settings.rejectOnWorkerLost) return 'run';
    return failed(new WorkerLostError(previous.worker), 'worker-lost');
  }

  /**
   * A task's `updateState()`: stored now, unless its run has ended (`accepted.run` is set then).
   * A failure is logged (a task that did not await the promise must not crash the process) and
   * still rejects for one that did.
   */
  private storeStateOf(accepted: AcceptedTask, update: Required<TaskStateUpdate>): Promise<void> {
    const { message, delivery } = accepted;
    const stored = accepted.run ? refuseStateAfterTheRun(update) : this.recorder.custom(message, delivery.deliveryInfo.routingKey, update);
    stored.catch((error: Error) => this.deps.logger.warn(`Task ${message.task}[${message.id}] could not store state ${update.state}: ${error.message}`));
    return stored;
  }

  private logStoreError(message: TaskMessage, error: Error): void {
    this.deps.logger.error(`Could not store the state of task ${message.task}[${message.id}]: ${error.message}`);
  }

  /** Keeps a promise of work started outside a slot, so stop() can wait for it; its failure is logged, never unhandled. */
  private inBackground(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work
      .catch((error: unknown) => this.deps.logger.error(`Worker ${this.hostname}: ${(error as Error)?.message ?? String(error)}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private async backgroundDone(timeoutMs: number): Promise<void> {
    if (this.background.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.background]), timeout]);
    clearTimeout(timer);
  }

  /** Idle: no task running and no outcome of a finished one still being settled. */
  private get idle(): boolean {
    return this.active.size === 0 && this.storing === 0;
  }

  private waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.idle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private notifyIdleWhenIdle(): void {
    if (!this.idle) return;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }
}

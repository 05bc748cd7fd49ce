import type { TaskEventSwitch } from '../events/task-event-switch';
import type { RevokeReason } from '../errors/task-revoked.error';
import type { LamportClock } from '../protocol/lamport-clock';
import type { TaskMessage } from '../protocol/task-message';
import type { CeleryLogger } from '../utils/logger';
import type { PartialTaskMessage, WorkerMonitor } from './worker-monitor';
import type { EventFields } from '../events/celery-event';
import { EventBroker, EventDispatcher } from '../events/event-dispatcher';
import {
  taskFailedFields,
  taskReceivedFields,
  taskRejectedFields,
  taskRetriedFields,
  taskRevokedFields,
  taskStartedFields,
  taskSucceededFields,
} from '../events/task-event-fields';
import { requestedHeartbeatFields, workerStatusFields } from '../events/worker-event-fields';

/** The worker as the monitor sees it; CeleryWorker fits. */
export interface ObservedWorker {
  /** Its node name (`-n`): events are sent under it. */
  readonly hostname: string;
  readonly processedCount: number;
  activeTasks(): readonly unknown[];
}

export interface WorkerEventsMonitorDependencies {
  broker: EventBroker;
  /** The app's Lamport clock, shared with remote control. */
  clock: LamportClock;
  logger: CeleryLogger;
  /** Send task events from the start (Celery's `worker_send_task_events`, `-E`). */
  sendTaskEvents: boolean;
  /** Seconds between worker-heartbeat events (Celery's `--heartbeat-interval`, 2.0). */
  heartbeatIntervalSeconds: number;
}

/**
 * A worker's Celery events (Celery's worker `Events` and `Heart` steps, celery-protocol.md §8),
 * so Flower, `celery events` and `celery.events.state` see the worker and its tasks:
 *
 * - worker-online at start, worker-heartbeat every `heartbeatIntervalSeconds`, worker-offline as
 *   a warm shutdown begins: always, as Celery sends worker events even without `-E`;
 * - task-received, -started, -succeeded, -failed, -retried, -revoked, -rejected: only while task
 *   events are enabled (`sendTaskEvents`, or the `enable_events` control command), batched as
 *   `task.multi` messages.
 *
 * The worker calls it synchronously (attach it with `worker.addMonitor()`); it never throws and
 * never waits. It is also the switch remote control's `enable_events`, `disable_events` and
 * `heartbeat` commands act on.
 */
export class WorkerEventsMonitor implements WorkerMonitor, TaskEventSwitch {
  private readonly dispatcher: EventDispatcher;
  private heartbeat: NodeJS.Timeout | null = null;
  private taskEvents: boolean;

  constructor(
    private readonly worker: ObservedWorker,
    private readonly deps: WorkerEventsMonitorDependencies,
  ) {
    const { broker, clock, logger } = deps;
    this.dispatcher = new EventDispatcher({ broker, clock, logger, hostname: worker.hostname });
    this.taskEvents = deps.sendTaskEvents;
  }

  /** Whether task events are sent now. */
  get taskEventsEnabled(): boolean {
    return this.taskEvents;
  }

  /** Starts sending task events (Celery's `enable_events` control command); false when they already were. */
  enableTaskEvents(): boolean {
    if (this.taskEvents) return false;
    this.taskEvents = true;
    this.deps.logger.log('Events of group {task} enabled by remote.');
    return true;
  }

  /** Stops sending task events (Celery's `disable_events`); false when they already were off. */
  disableTaskEvents(): boolean {
    if (!this.taskEvents) return false;
    this.taskEvents = false;
    this.deps.logger.log('Events of group {task} disabled by remote.');
    return true;
  }

  /** An extra worker-heartbeat now (Celery's `heartbeat` control command): `freq` 5 and the software only. */
  sendHeartbeat(): void {
    if (this.heartbeat !== null) this.dispatcher.send('worker-heartbeat', requestedHeartbeatFields());
  }

  workerStarted(): void {
    if (this.heartbeat !== null) return;
    this.dispatcher.send('worker-online', this.statusFields());
    this.heartbeat = setInterval(this.sendScheduledHeartbeat, this.deps.heartbeatIntervalSeconds * 1000);
    this.heartbeat.unref(); // never what keeps the process alive
  }

  /**
   * worker-offline as the warm shutdown begins, as Celery's Heart step stops with the consumer
   * before the pool finishes the running tasks: monitors learn at once that the worker is leaving,
   * however long its tasks take, and a shutdown slowed by a busy machine cannot pass for a worker
   * gone silent (no heartbeat for 2 × the interval, then the goodbye). Events of the tasks that
   * finish meanwhile still go out after it, as Celery's do.
   */
  workerStopping(): void {
    this.goOffline();
  }

  workerStopped(): void {
    this.goOffline(); // when stopped without a warm shutdown first
    this.dispatcher.flush();
  }

  taskReceived(message: TaskMessage): void {
    if (this.taskEvents) this.dispatcher.buffer('task-received', taskReceivedFields(message));
  }

  taskStarted(message: TaskMessage): void {
    if (this.taskEvents) this.dispatcher.buffer('task-started', taskStartedFields(message));
  }

  taskSucceeded(message: TaskMessage, result: unknown, runtimeSeconds: number): void {
    if (this.taskEvents) this.dispatcher.buffer('task-succeeded', taskSucceededFields(message, result, runtimeSeconds));
  }

  taskFailed(message: PartialTaskMessage, error: unknown, runtimeSeconds: number | null): void {
    if (this.taskEvents) this.dispatcher.buffer('task-failed', taskFailedFields(message, error, runtimeSeconds !== null));
  }

  taskRetried(message: TaskMessage, error: unknown): void {
    if (this.taskEvents) this.dispatcher.buffer('task-retried', taskRetriedFields(message, error));
  }

  taskRevoked(message: TaskMessage, reason: RevokeReason): void {
    if (this.taskEvents) this.dispatcher.buffer('task-revoked', taskRevokedFields(message, reason));
  }

  taskRejected(message: PartialTaskMessage | null, requeue: boolean): void {
    // Without an id there is no task a monitor could attach the event to.
    if (this.taskEvents && message) this.dispatcher.buffer('task-rejected', taskRejectedFields(message, requeue));
  }

  private goOffline(): void {
    if (this.heartbeat === null) return;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.dispatcher.flush(); // the task events so far go before the worker says goodbye
    this.dispatcher.send('worker-offline', this.statusFields());
  }

  private readonly sendScheduledHeartbeat = (): void => {
    this.dispatcher.send('worker-heartbeat', this.statusFields());
  };

  private statusFields(): EventFields {
    const { worker } = this;
    return workerStatusFields(this.deps.heartbeatIntervalSeconds, { active: worker.activeTasks().length, processed: worker.processedCount });
  }
}

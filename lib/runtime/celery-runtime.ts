import type { AlertListeners } from '../alerts/alert-listeners';
import type { CeleryAlerts } from '../alerts/celery-alerts';
import type { ResultBackend } from '../backend/result-backend.interface';
import type { BrokerConnectionEvents } from '../broker/broker-connection-events';
import type { Broker } from '../broker/broker.interface';
import type { QueueCatalog } from '../broker/queue-catalog';
import type { CeleryClient } from '../client/celery-client';
import type { ControlServer } from '../remote-control/control-server';
import type { WorkerEventsMonitor } from '../worker/worker-events-monitor';
import type { CeleryMetrics } from '../metrics/celery-metrics';
import type { ClusterMonitor } from '../monitoring/cluster-monitor';
import type { CeleryOutbox } from '../outbox/celery-outbox';
import type { BeatRunner } from '../beat/beat-runner';
import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryWorker } from '../worker/celery-worker';
import type { TaskSignals } from '../worker/task-signals';
import type { TaskRegistry } from '../task/task-registry';
import type { CeleryConfig } from './celery-config';
import { decideRoles, RuntimeRoles } from './runtime-roles';
import { reportToWorkerCommandLine } from './worker-command-line';
import { servePoolChild } from '../worker/pool/serve-pool-child';
import { shutDownWarmlyOnSignals } from './warm-shutdown-on-signal';

/** Everything a Celery app is made of, built once by createCeleryRuntime(). */
export interface CeleryRuntimeParts {
  readonly config: CeleryConfig;
  readonly logger: CeleryLogger;
  readonly broker: Broker;
  readonly connectionEvents: BrokerConnectionEvents;
  readonly backend: ResultBackend;
  readonly queues: QueueCatalog;
  /** Celery's `app.clock`: one per app, shared by the client, the worker's events and remote control. */
  readonly clock: LamportClock;
  /** The app's tasks and Celery's built-ins; the app's are registered before start(). */
  readonly registry: TaskRegistry;
  /** The app's task signal handlers (`@OnTaskSignal()`). */
  readonly signals: TaskSignals;
  /** The app's `@OnCeleryAlert()` methods. */
  readonly alertListeners: AlertListeners;
  readonly client: CeleryClient;
  readonly outbox: CeleryOutbox;
  /** null with `worker: false`. */
  readonly worker: CeleryWorker | null;
  /** The worker's remote control (follows the worker); null without a worker. */
  readonly control: ControlServer | null;
  /** The worker's Celery events (follow the worker); null without a worker. */
  readonly workerEvents: WorkerEventsMonitor | null;
  /** null unless the `metrics` option is on. */
  readonly metrics: CeleryMetrics | null;
  /** The deployment as its events tell it; idle until the alerts or the dashboard start it. */
  readonly monitor: ClusterMonitor;
  /** null unless the `alerts` option is set. */
  readonly alerts: CeleryAlerts | null;
  /** null unless the `beat` option is set. */
  readonly beat: BeatRunner | null;
}

type Phase = 'built' | 'started' | 'draining' | 'drained' | 'closed';

/**
 * A Celery app at run time, whatever hosts it (CeleryModule, the microservice transport, the
 * worker CLI): the parts, and when their I/O starts and stops. start() at application bootstrap
 * (every task registered by then) decides the roles and starts them; drain() stops consuming and
 * lets running tasks finish (Nest's beforeApplicationShutdown); close() closes the connections
 * (onApplicationShutdown). Each resolves once everything it started is done.
 */
export class CeleryRuntime {
  private phase: Phase = 'built';
  private roles: RuntimeRoles | null = null;
  private readonly closedListeners: (() => void)[] = [];
  private starting: Promise<void> | null = null;
  private releaseSignals: (() => void) | null = null;

  constructor(readonly parts: CeleryRuntimeParts) {}

  /** What start() decided this process does; null before start(). */
  get decidedRoles(): RuntimeRoles | null {
    return this.roles;
  }

  /** True from the moment drain() began: the app is shutting down. */
  get isShuttingDown(): boolean {
    return this.phase === 'draining' || this.phase === 'drained' || this.phase === 'closed';
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Called once close() has finished. */
  onClosed(listener: () => void): void {
    if (this.phase === 'closed') listener();
    else this.closedListeners.push(listener);
  }

  /** Resolves once start() is over (rejects as it did); at once when it was never called. */
  untilStarted(): Promise<void> {
    return this.starting ?? Promise.resolve();
  }

  start(): Promise<void> {
    if (this.phase !== 'built') return Promise.resolve();
    this.phase = 'started';
    this.starting = this.startRoles();
    return this.starting;
  }

  private async startRoles(): Promise<void> {
    const { config, registry, outbox, alerts, monitor, alertListeners, worker, beat, logger } = this.parts;
    const roles = decideRoles(config, registry);
    this.roles = roles;
    logger.log(roles.summary);
    if (roles.worker === 'pool-child') return servePoolChild(registry, logger);
    // Before the worker announces itself: createApplicationContext() bootstraps before the app can enableShutdownHooks().
    if (roles.worker === 'consume' || roles.worker === 'manual') this.releaseSignals = shutDownWarmlyOnSignals(this, logger);
    reportToWorkerCommandLine({ worker: roles.worker !== 'none', beat: roles.beat, summary: roles.summary, hostname: roles.worker === 'none' ? undefined : worker?.hostname });
    // The outbox relay runs in producer-only apps too.
    await outbox.start();
    if (alerts) {
      // Alerts listen before the receiver starts, so no event of the first moments is missed.
      alerts.start();
      await monitor.start();
    } else if (alertListeners.size > 0) {
      logger.warn(`@OnCeleryAlert() on ${alertListeners.sources.join(', ')} will get no alert: the alerts option of CeleryModule.forRoot() is not set`);
    }
    if (roles.worker === 'consume' && worker) {
      // Remote control starts inside: a startup step of the worker, after Mingle (create-celery-runtime.ts).
      await worker.start();
    }
    // Last: its schedules may name any task registered by now (`@CeleryTask({ schedule })`).
    await beat?.start();
  }

  /** Stops consuming, lets running tasks finish and their outcomes settle, stops the relay and the monitors. */
  async drain(): Promise<void> {
    if (this.phase === 'draining' || this.phase === 'drained' || this.phase === 'closed') return;
    this.phase = 'draining';
    const { worker, control, outbox, alerts, monitor, beat } = this.parts;
    // The beat first: what it committed is published by its relay before that stops.
    await beat?.stop();
    await worker?.stop();
    await control?.stop();
    await outbox.stop();
    if (alerts) {
      await alerts.stop();
      await monitor.stop();
    }
    this.phase = 'drained';
  }

  /** Closes the connections (drains first if that was not done). */
  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    await this.drain();
    const { backend, broker, metrics } = this.parts;
    // The backend first: rpc:// receives its replies through the broker.
    await backend.close();
    await broker.close();
    metrics?.unregister();
    this.phase = 'closed';
    this.releaseSignals?.();
    this.releaseSignals = null;
    for (const listener of this.closedListeners.splice(0)) listener();
  }
}

import { CeleryEventReceiver, CeleryEventReceiverDependencies } from './celery-event-receiver';
import { ClusterState, ClusterStateOptions } from './cluster-state';

export interface ClusterMonitorOptions extends CeleryEventReceiverDependencies, Omit<ClusterStateOptions, 'now' | 'logger'> {
  /** How often workers whose heartbeats stopped are noticed, ms. Default 1000. */
  livenessCheckIntervalMs?: number;
}

/**
 * What Flower runs: an event receiver feeding a ClusterState, plus a timer that notices workers
 * whose heartbeats stopped. `state` is where to read and `state.subscribe()` where to listen.
 * CeleryModule provides one per app, shared by the alerts and the dashboard: each calls start()
 * and stop(), and it receives while at least one of them runs.
 *
 * ```ts
 * const monitor = new ClusterMonitor({ broker, control: celery.control });
 * monitor.state.subscribe({ taskChanged: (task) => task.state === 'FAILURE' && alert(task) });
 * await monitor.start();
 * ```
 */
export class ClusterMonitor {
  readonly receiver: CeleryEventReceiver;
  readonly state: ClusterState;
  private timer: NodeJS.Timeout | null = null;
  private detach: (() => void) | null = null;
  /** The app's parts using it (alerts, the dashboard): it runs while one does. */
  private users = 0;
  private starting: Promise<void> | null = null;

  constructor(private readonly options: ClusterMonitorOptions) {
    this.receiver = new CeleryEventReceiver(options);
    this.state = new ClusterState({ maxTasks: options.maxTasks, now: options.now, logger: options.logger });
  }

  /** Starts receiving, or counts one more user of the running monitor. */
  async start(): Promise<void> {
    this.users += 1;
    this.starting ??= this.startReceiving().catch((error: unknown) => {
      this.users = 0;
      this.starting = null;
      throw error;
    });
    await this.starting;
  }

  /** One user less; the receiver stops with the last one. */
  async stop(): Promise<void> {
    if (this.users === 0) return;
    this.users -= 1;
    if (this.users > 0) return;
    this.starting = null;
    await this.stopReceiving();
  }

  private async startReceiving(): Promise<void> {
    this.detach = this.receiver.onEvent((event) => this.state.event(event));
    this.timer = setInterval(() => this.state.checkLiveness(), this.options.livenessCheckIntervalMs ?? 1000);
    this.timer.unref();
    try {
      await this.receiver.start();
    } catch (error) {
      await this.stopReceiving();
      throw error;
    }
  }

  private async stopReceiving(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.detach?.();
    this.detach = null;
    await this.receiver.stop();
  }
}

import { CeleryEventReceiver, CeleryEventReceiverDependencies } from './celery-event-receiver';
import { ClusterState, ClusterStateOptions } from './cluster-state';

export interface ClusterMonitorOptions extends CeleryEventReceiverDependencies, Omit<ClusterStateOptions, 'now' | 'logger'> {
  /** How often workers whose heartbeats stopped are noticed, ms. Default 1000. */
  livenessCheckIntervalMs?: number;
}

/**
 * What Flower runs: an event receiver feeding a ClusterState, plus a timer that notices workers
 * whose heartbeats stopped. `state` is where to read and `state.subscribe()` where to listen.
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

  constructor(private readonly options: ClusterMonitorOptions) {
    this.receiver = new CeleryEventReceiver(options);
    this.state = new ClusterState({ maxTasks: options.maxTasks, now: options.now, logger: options.logger });
  }

  async start(): Promise<void> {
    if (this.detach) return;
    this.detach = this.receiver.onEvent((event) => this.state.event(event));
    this.timer = setInterval(() => this.state.checkLiveness(), this.options.livenessCheckIntervalMs ?? 1000);
    this.timer.unref();
    try {
      await this.receiver.start();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.detach?.();
    this.detach = null;
    await this.receiver.stop();
  }
}

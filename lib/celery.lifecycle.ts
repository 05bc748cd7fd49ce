import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ResultBackend } from './backend/result-backend.interface';
import type { Broker } from './broker/broker.interface';
import type { CeleryConfig } from './celery-config';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_LOGGER_CONTEXT, CELERY_RESULT_BACKEND } from './celery.constants';
import { AlertListeners } from './alerts/alert-listeners';
import { CeleryAlerts } from './alerts/celery-alerts';
import { ControlServer } from './control/control-server';
import { ClusterMonitor } from './monitoring/cluster-monitor';
import { CeleryOutbox } from './outbox/celery-outbox';
import { CeleryWorker } from './worker/celery-worker';
import { TaskRegistry } from './worker/task-registry';

/**
 * Decides when I/O starts and stops: the worker starts consuming at application bootstrap (after
 * every task is registered), stops and drains in beforeApplicationShutdown, and connections close
 * in onApplicationShutdown. Remember `app.enableShutdownHooks()` so SIGTERM triggers this.
 * Remote control follows the worker (it is attached to it); bootstrap and shutdown wait for it.
 * The alerts (and the cluster monitor they watch) run in any app that has them, worker or not.
 */
@Injectable()
export class CeleryLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(CELERY_LOGGER_CONTEXT);

  constructor(
    @Inject(CELERY_CONFIG) private readonly config: CeleryConfig,
    @Inject(CELERY_BROKER) private readonly broker: Broker,
    @Inject(CELERY_RESULT_BACKEND) private readonly backend: ResultBackend,
    private readonly registry: TaskRegistry,
    private readonly worker: CeleryWorker,
    private readonly control: ControlServer,
    private readonly monitor: ClusterMonitor,
    // An explicit token: a `X | null` parameter type is emitted as Object.
    @Inject(CeleryAlerts) private readonly alerts: CeleryAlerts | null,
    private readonly outbox: CeleryOutbox,
    private readonly alertListeners: AlertListeners,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The outbox relay runs in producer-only apps too.
    await this.outbox.start();
    if (this.alerts) {
      // Alerts listen before the receiver starts, so no event of the first moments is missed.
      this.alerts.start();
      await this.monitor.start();
    } else if (this.alertListeners.size > 0) {
      this.logger.warn(`@OnCeleryAlert() on ${this.alertListeners.sources.join(', ')} will get no alert: the alerts option of CeleryModule.forRoot() is not set`);
    }
    await this.startWorker();
  }

  private async startWorker(): Promise<void> {
    if (!this.config.worker) return;
    if (this.registry.names().length === 0) {
      this.logger.log('No @CeleryTask() methods found: running as a producer only');
      return;
    }
    if (!this.config.worker.autoStart) return;
    await this.worker.start();
    // Started by the worker; waited for so that `celery inspect` sees the worker once bootstrap is done.
    await this.control.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.stop();
    await this.control.stop();
    await this.outbox.stop();
    if (this.alerts) {
      await this.alerts.stop();
      await this.monitor.stop();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // The backend first: rpc:// receives its replies through the broker.
    await this.backend.close();
    await this.broker.close();
  }
}

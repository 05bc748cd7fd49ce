import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { ResultBackend } from '../backend/result-backend.interface';
import { Broker } from '../broker/broker.interface';
import { QueueCatalog } from '../broker/queue-catalog';
import { resolveCeleryConfig } from '../celery-config';
import { connectBroker, connectResultBackend } from '../celery-connections';
import { createControlServer } from '../celery-remote-control';
import { validateCeleryOptions } from '../celery-options.validator';
import { CELERY_LOGGER_CONTEXT } from '../celery.constants';
import { ControlServer } from '../control/control-server';
import { attachWorkerEvents } from '../events/attach-worker-events';
import { CeleryModuleOptions } from '../interfaces/celery-module-options.interface';
import { LamportClock } from '../protocol/lamport-clock';
import { CeleryWorker } from '../worker/celery-worker';
import { isRevokedTaskStore } from '../worker/revoked-tasks';
import { TaskRegistry } from '../worker/task-registry';
import { DEFAULT_WORKER_OPTIONS } from '../worker/worker-options';
import { MessagePatternTask } from './message-pattern-task';

/**
 * Celery as a Nest microservice transport: each `@MessagePattern('tasks.add')` handler becomes a
 * Celery task, served by a worker with the same options as CeleryModule.
 *
 * ```ts
 * const app = await NestFactory.createMicroservice(AppModule, { strategy: new CeleryServer({ broker: 'amqp://…' }) });
 * ```
 *
 * The worker answers Celery's remote control (`celery inspect …`, `celery control …`); a remote
 * `shutdown` stops it and closes the transport, as a Python worker exits.
 */
export class CeleryServer extends Server implements CustomTransportStrategy {
  private readonly celeryLogger = new Logger(CELERY_LOGGER_CONTEXT);
  private connections: { broker: Broker; backend: ResultBackend; worker: CeleryWorker; control: ControlServer } | null = null;

  constructor(private readonly options: CeleryModuleOptions = {}) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const config = resolveCeleryConfig(validateCeleryOptions(this.options));
      const registry = new TaskRegistry();
      for (const [pattern, handler] of this.messageHandlers) registry.register(new MessagePatternTask(pattern, handler));
      const broker = await connectBroker(config, this.celeryLogger);
      const backend = await connectResultBackend(config, broker, this.celeryLogger);
      const queues = new QueueCatalog(config.queues);
      const worker = new CeleryWorker({
        broker,
        backend,
        registry,
        logger: this.celeryLogger,
        options: config.worker ?? { ...DEFAULT_WORKER_OPTIONS, queues: [config.defaultQueue] },
        declareQueue: (name, requested) => queues.declaration(name, requested),
        revokedStore: isRevokedTaskStore(backend) ? backend : undefined,
        security: config.security,
      });
      const clock = new LamportClock();
      const { sendTaskEvents, heartbeatIntervalSeconds } = config.events;
      const taskEvents = attachWorkerEvents(worker, { broker, clock, logger: this.celeryLogger, sendTaskEvents, heartbeatIntervalSeconds });
      const control = createControlServer(config, { broker, worker, queues, clock, logger: this.celeryLogger, taskEvents });
      control.onShutdown(() => this.close());
      this.connections = { broker, backend, worker, control };
      await worker.start();
      await control.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops consuming, drains running tasks, then closes the connections. */
  async close(): Promise<void> {
    if (!this.connections) return;
    const { broker, backend, worker, control } = this.connections;
    this.connections = null;
    await worker.stop();
    await control.stop();
    // The backend first: rpc:// receives its replies through the broker.
    await backend.close();
    await broker.close();
  }

  on(): never {
    throw new Error('CeleryServer does not emit transport events; use the worker logs or Celery events instead.');
  }

  unwrap<T>(): T {
    if (!this.connections) throw new Error('CeleryServer is not listening yet.');
    return this.connections.worker as T;
  }
}

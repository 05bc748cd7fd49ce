import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { CELERY_LOGGER_CONTEXT } from '../celery.constants';
import { CeleryModuleOptions } from '../runtime/celery-module-options';
import { CeleryRuntime } from '../runtime/celery-runtime';
import { createCeleryRuntime } from '../runtime/create-celery-runtime';
import { MessagePatternTask } from './message-pattern-task';

/**
 * Celery as a Nest microservice transport: each `@MessagePattern('tasks.add')` handler becomes a
 * Celery task, served by the same runtime CeleryModule builds (runtime/create-celery-runtime.ts):
 * chains, links and chords, events, remote control, metrics and `celery.chord_unlock` alike.
 *
 * ```ts
 * const app = await NestFactory.createMicroservice(AppModule, { strategy: new CeleryServer({ broker: 'amqp://…' }) });
 * ```
 *
 * A remote `shutdown` ends the process as a Python worker exits (`worker.exitOnRemoteShutdown`).
 */
export class CeleryServer extends Server implements CustomTransportStrategy {
  private readonly celeryLogger = new Logger(CELERY_LOGGER_CONTEXT);
  private runtime: CeleryRuntime | null = null;

  constructor(private readonly options: CeleryModuleOptions = {}) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const tasks = [...this.messageHandlers].map(([pattern, handler]) => new MessagePatternTask(pattern, handler));
      this.runtime = await createCeleryRuntime(this.options, { logger: this.celeryLogger, tasks });
      await this.runtime.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops consuming, drains running tasks, then closes the connections. */
  async close(): Promise<void> {
    const runtime = this.runtime;
    this.runtime = null;
    await runtime?.close();
  }

  on(): never {
    throw new Error('CeleryServer does not emit transport events; use the worker logs or Celery events instead.');
  }

  /** The runtime's worker (`CeleryWorker`), for inspection. */
  unwrap<T>(): T {
    if (!this.runtime) throw new Error('CeleryServer is not listening yet.');
    return this.runtime.parts.worker as T;
  }
}

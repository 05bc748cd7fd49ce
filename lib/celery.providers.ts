import { Logger, Provider } from '@nestjs/common';
import { DatabaseResultBackend } from './backend/database/database-result-backend';
import { DisabledResultBackend } from './backend/disabled-result-backend';
import { ResultBackend } from './backend/result-backend.interface';
import { Broker } from './broker/broker.interface';
import { createBroker } from './broker/create-broker';
import { QueueCatalog } from './broker/queue-catalog';
import { CeleryConfig, resolveCeleryConfig } from './celery-config';
import { validateCeleryOptions } from './celery-options.validator';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_LOGGER_CONTEXT, CELERY_MODULE_OPTIONS, CELERY_RESULT_BACKEND } from './celery.constants';
import { CeleryClient } from './client/celery-client';
import { CeleryModuleOptions } from './interfaces/celery-module-options.interface';
import { CeleryWorker } from './worker/celery-worker';
import { DEFAULT_WORKER_OPTIONS } from './worker/worker-options';
import { TaskRegistry } from './worker/task-registry';

const logger = new Logger(CELERY_LOGGER_CONTEXT);

/**
 * The module's providers: options are validated once, then the broker and the result backend
 * connect while the module initialises, so anything injected afterwards can send at once.
 */
export const celeryProviders: Provider[] = [
  {
    provide: CELERY_CONFIG,
    useFactory: (options: CeleryModuleOptions): CeleryConfig => resolveCeleryConfig(validateCeleryOptions(options)),
    inject: [CELERY_MODULE_OPTIONS],
  },
  {
    provide: CELERY_BROKER,
    useFactory: async (config: CeleryConfig): Promise<Broker> => {
      const { url, ...options } = config.broker ?? { url: undefined };
      const broker = createBroker(url, { ...options, logger });
      await broker.connect();
      return broker;
    },
    inject: [CELERY_CONFIG],
  },
  {
    provide: CELERY_RESULT_BACKEND,
    useFactory: async (config: CeleryConfig): Promise<ResultBackend> => {
      const backend = config.backend ? new DatabaseResultBackend({ ...config.backend, logger }) : new DisabledResultBackend();
      await backend.connect();
      logger.log(`Result backend: ${backend.description}`);
      return backend;
    },
    inject: [CELERY_CONFIG],
  },
  {
    provide: QueueCatalog,
    useFactory: (config: CeleryConfig) => new QueueCatalog(config.queues),
    inject: [CELERY_CONFIG],
  },
  { provide: TaskRegistry, useFactory: () => new TaskRegistry() },
  {
    provide: CeleryClient,
    useFactory: (config: CeleryConfig, broker: Broker, backend: ResultBackend, queues: QueueCatalog) =>
      new CeleryClient({ broker, backend, queues, defaultQueue: config.defaultQueue }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CELERY_RESULT_BACKEND, QueueCatalog],
  },
  {
    provide: CeleryWorker,
    useFactory: (config: CeleryConfig, broker: Broker, backend: ResultBackend, queues: QueueCatalog, registry: TaskRegistry) =>
      new CeleryWorker({
        broker,
        backend,
        registry,
        logger,
        options: config.worker ?? { ...DEFAULT_WORKER_OPTIONS, queues: [config.defaultQueue] },
        declareQueue: (name) => queues.declaration(name),
      }),
    inject: [CELERY_CONFIG, CELERY_BROKER, CELERY_RESULT_BACKEND, QueueCatalog, TaskRegistry],
  },
];

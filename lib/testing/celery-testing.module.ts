import { DynamicModule, Logger, Module, Provider } from '@nestjs/common';
import { CELERY_LOGGER_CONTEXT, CELERY_MODULE_OPTIONS, CELERY_RUNTIME } from '../celery.constants';
import { CeleryModule } from '../celery.module';
import type { CeleryModuleOptions } from '../runtime/celery-module-options';
import type { CeleryRuntime } from '../runtime/celery-runtime';
import { createCeleryRuntime } from '../runtime/create-celery-runtime';
import { forgetMemoryResultStore } from '../backend/memory/memory-result-store';
import { forgetMemoryVirtualHost } from '../broker/memory/shared-virtual-hosts';
import { CeleryTesting } from './celery-testing';
import { celeryOptionsForTesting, CeleryTestingModuleOptions, checkTestingOptions } from './celery-testing-options';
import { EagerBroker } from './eager-broker';
import { SentTaskLog } from './sent-task-log';

/**
 * CeleryModule for tests, as @nestjs/bullmq users get from Nest's docs: the same providers
 * (`CeleryClient`, the explorer of `@CeleryTask()` methods, the worker) on the in-process broker
 * and result backend, private to each compiled module, plus `CeleryTesting`, the record of the
 * tasks sent. Nothing to start: a module compiles and initialises in milliseconds. Celery's
 * counterparts are the pytest fixtures `celery_app` and `celery_worker`, and `task_always_eager`.
 *
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [CeleryTestingModule.forRoot({ alwaysEager: true })],
 *   providers: [MathTasks, Checkout],
 * }).compile();
 * await moduleRef.init(); // registers the tasks, starts the worker
 * ```
 */
@Module({})
export class CeleryTestingModule {
  static forRoot(options: CeleryTestingModuleOptions = {}): DynamicModule {
    checkTestingOptions(options);
    // Options made per compiled module (a factory), so modules compiled from one forRoot() share nothing.
    const celery = CeleryModule.forRootAsync({ useFactory: () => celeryOptionsForTesting(options), isGlobal: options.isGlobal });
    const eager = options.alwaysEager === true;
    const providers: Provider[] = [
      ...withoutRuntime(celery.providers ?? []),
      { provide: SentTaskLog, useFactory: () => new SentTaskLog() },
      {
        provide: CELERY_RUNTIME,
        useFactory: (celeryOptions: CeleryModuleOptions, log: SentTaskLog) => createTestingRuntime(celeryOptions, log, eager),
        inject: [CELERY_MODULE_OPTIONS, SentTaskLog],
      },
      { provide: CeleryTesting, useFactory: (log: SentTaskLog, runtime: CeleryRuntime) => new CeleryTesting(log, runtime), inject: [SentTaskLog, CELERY_RUNTIME] },
    ];
    return { ...celery, module: CeleryTestingModule, providers, exports: [...(celery.exports ?? []), CeleryTesting] };
  }
}

/** The runtime, built by the one composition root, with the record of sent tasks and, when eager, the eager broker in front. */
async function createTestingRuntime(options: CeleryModuleOptions, log: SentTaskLog, eager: boolean): Promise<CeleryRuntime> {
  const built: { eager?: EagerBroker } = {};
  const runtime = await createCeleryRuntime(options, {
    logger: new Logger(CELERY_LOGGER_CONTEXT),
    onTaskCall: log.record,
    wrapBroker: eager ? (broker) => (built.eager = new EagerBroker(broker)) : undefined,
  });
  if (built.eager && runtime.parts.worker) built.eager.attach(runtime.parts.worker, runtime.parts.registry, runtime.parts.signals);
  // The module's memory:// URL is its own: once closed, nothing of it is kept in the process.
  runtime.onClosed(() => {
    forgetMemoryVirtualHost(options.broker as string);
    forgetMemoryResultStore(options.backend as string);
  });
  return runtime;
}

/** CeleryModule's providers but its runtime, which the testing module builds itself. Fails loudly if that provider moved. */
function withoutRuntime(providers: Provider[]): Provider[] {
  const kept = providers.filter((provider) => !(typeof provider === 'object' && 'provide' in provider && provider.provide === CELERY_RUNTIME));
  if (kept.length !== providers.length - 1) throw new Error('CeleryTestingModule: CeleryModule no longer provides CELERY_RUNTIME as one provider; update lib/testing');
  return kept;
}

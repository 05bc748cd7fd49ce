import { DynamicModule, Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CELERY_BROKER, CELERY_CONFIG, CELERY_MODULE_OPTIONS, CELERY_RESULT_BACKEND } from './celery.constants';
import { CeleryExplorer } from './celery.explorer';
import { CeleryLifecycle } from './celery.lifecycle';
import { CeleryMetadataAccessor } from './celery-metadata.accessor';
import { celeryProviders } from './celery.providers';
import { CeleryClient } from './client/celery-client';
import { ControlServer } from './remote-control/control-server';
import { WorkerEventsMonitor } from './worker/worker-events-monitor';
import { CeleryModuleAsyncOptions, CeleryOptionsFactory } from './interfaces/celery-module-options.interface';
import { CeleryModuleOptions } from './runtime/celery-module-options';
import { CeleryHealthIndicator } from './health/celery-health-indicator';
import { CeleryMetrics } from './metrics/celery-metrics';
import { ClusterMonitor } from './monitoring/cluster-monitor';
import { CeleryWorker } from './worker/celery-worker';
import { CeleryOutbox } from './outbox/celery-outbox';
import { TaskRegistry } from './task/task-registry';
import { TaskSignals } from './worker/task-signals';

const EXPORTS = [
  CeleryClient,
  CeleryOutbox,
  CeleryWorker,
  ControlServer,
  WorkerEventsMonitor,
  TaskRegistry,
  TaskSignals,
  CeleryMetrics,
  CeleryHealthIndicator,
  ClusterMonitor,
  CELERY_BROKER,
  CELERY_RESULT_BACKEND,
  CELERY_CONFIG,
];

/**
 * Makes a Nest app a member of a Celery deployment: `CeleryClient` to send tasks, and a worker
 * that runs `@CeleryTask()` methods. Configure it once in the root module.
 */
@Module({})
export class CeleryModule {
  static forRoot(options: CeleryModuleOptions = {}): DynamicModule {
    return this.build([{ provide: CELERY_MODULE_OPTIONS, useValue: options }], [], options.isGlobal);
  }

  /** Options from a factory, e.g. @nestjs/config's ConfigService. */
  static forRootAsync(options: CeleryModuleAsyncOptions): DynamicModule {
    return this.build(this.asyncOptionsProviders(options), options.imports ?? [], options.isGlobal);
  }

  private static build(optionsProviders: Provider[], imports: DynamicModule['imports'], isGlobal = true): DynamicModule {
    return {
      global: isGlobal,
      module: CeleryModule,
      imports: [DiscoveryModule, ...(imports ?? [])],
      providers: [...optionsProviders, ...celeryProviders, CeleryMetadataAccessor, CeleryExplorer, CeleryLifecycle, CeleryHealthIndicator],
      exports: EXPORTS,
    };
  }

  private static asyncOptionsProviders(options: CeleryModuleAsyncOptions): Provider[] {
    if (options.useFactory) {
      return [{ provide: CELERY_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
    }
    const factoryClass = options.useClass ?? options.useExisting;
    if (!factoryClass) throw new Error('CeleryModule.forRootAsync() needs useFactory, useClass or useExisting');
    const providers: Provider[] = [
      {
        provide: CELERY_MODULE_OPTIONS,
        useFactory: (factory: CeleryOptionsFactory) => factory.createCeleryOptions(),
        inject: [factoryClass],
      },
    ];
    if (options.useClass) providers.push({ provide: options.useClass, useClass: options.useClass });
    return providers;
  }
}

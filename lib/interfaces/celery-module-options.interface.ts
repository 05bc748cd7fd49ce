import { ModuleMetadata, Type } from '@nestjs/common';
import type { CeleryModuleOptions } from '../runtime/celery-module-options';

// The options themselves are framework-free and live beside what they configure; Nest's async form is here.
export type { CeleryModuleOptions } from '../runtime/celery-module-options';
export type { BrokerOptions } from '../broker/broker-options';
export type { EmbeddedBackendOptions, PostgresBackendOptions, RedisBackendOptions, ResultBackendOption } from '../backend/backend-options';
export type { SecurityOptions } from '../security/security-options';
export type { WorkerModuleOptions } from '../worker/worker-module-options';

export interface CeleryOptionsFactory {
  createCeleryOptions(): Promise<CeleryModuleOptions> | CeleryModuleOptions;
}

/** `CeleryModule.forRootAsync()`: options from @nestjs/config or any provider. */
export interface CeleryModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => Promise<CeleryModuleOptions> | CeleryModuleOptions;
  inject?: any[];
  useClass?: Type<CeleryOptionsFactory>;
  useExisting?: Type<CeleryOptionsFactory>;
  isGlobal?: boolean;
}

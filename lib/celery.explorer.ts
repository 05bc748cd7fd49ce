import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { AlertListeners } from './alerts/alert-listeners';
import { CELERY_LOGGER_CONTEXT } from './celery.constants';
import { CeleryMetadataAccessor } from './celery-metadata.accessor';
import { buildMethodTask } from './invocation/build-method-task';
import { checkTaskDecoratorsKept } from './invocation/check-task-decorators-kept';
import { TaskPipelines } from './invocation/task-pipelines';
import { TaskRegistry } from './task/task-registry';
import { TaskSignals } from './worker/task-signals';

/**
 * Finds `@CeleryTask()`, `@OnTaskSignal()` and `@OnCeleryAlert()` methods on every provider at module init (the way
 * @nestjs/bullmq and @nestjs/schedule find their handlers) and registers them, bound to their
 * DI-built instance. A task that cannot be registered as declared stops the bootstrap.
 */
@Injectable()
export class CeleryExplorer implements OnModuleInit {
  private readonly logger = new Logger(CELERY_LOGGER_CONTEXT);
  private pipelines: TaskPipelines | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metadataScanner: MetadataScanner,
    private readonly metadata: CeleryMetadataAccessor,
    private readonly registry: TaskRegistry,
    private readonly signals: TaskSignals,
    private readonly alertListeners: AlertListeners,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) this.registerTasksOf(wrapper);
  }

  private registerTasksOf(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    // Providers made by useFactory/useValue have no metatype: their instance's class still counts.
    const prototype = instance ? Object.getPrototypeOf(instance) : (wrapper.metatype as Function | undefined)?.prototype;
    if (!prototype || typeof prototype !== 'object') return;
    checkTaskDecoratorsKept(prototype);
    const className = (wrapper.metatype as Function | undefined)?.name || instance?.constructor?.name || String(wrapper.name);
    for (const methodName of this.metadataScanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName] as (...args: unknown[]) => unknown;
      const declaration = this.metadata.getTaskDeclaration(method);
      const signal = this.metadata.getTaskSignal(method);
      const alert = this.metadata.getAlertListener(method);
      if (!declaration && !signal && !alert) continue;
      const source = `${className}.${methodName}`;
      if (!wrapper.isDependencyTreeStatic() || !instance) {
        const decorator = declaration ? '@CeleryTask()' : signal ? '@OnTaskSignal()' : '@OnCeleryAlert()';
        this.logger.warn(
          `${decorator} on ${source} is ignored: the provider is request-scoped (or depends on one). ` +
            'Tasks run outside of any HTTP request; make the provider a singleton (default scope) or move the method to one.',
        );
        continue;
      }
      if (declaration) {
        const moduleKey = wrapper.host?.token ?? '';
        this.registry.register(buildMethodTask({ declaration, instance, method, methodName, source, moduleKey }, (taskSource) => this.taskPipelines(taskSource)));
      }
      if (signal) this.signals.on(signal.signal, (payload) => method.call(instance, payload), { tasks: signal.tasks, source });
      if (alert) this.alertListeners.add((payload) => method.call(instance, payload) as void | Promise<void>, { rules: alert.rules, source });
    }
  }

  /** Made on first need: an app whose tasks declare no guard, interceptor, pipe or filter never touches Nest's internals. */
  private taskPipelines(source: string): TaskPipelines {
    this.pipelines ??= TaskPipelines.fromModuleRef(this.moduleRef, source);
    return this.pipelines;
  }
}

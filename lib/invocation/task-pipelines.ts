import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { ExternalContextCreator, ModuleRef, NestContainer } from '@nestjs/core';
import { ExternalExceptionFilterContext } from '@nestjs/core/exceptions/external-exception-filter-context';
// Nest's internals by file, never by folder: Nest 12 (ES modules) maps `@nestjs/core/x` to x.js only.
import { GuardsConsumer } from '@nestjs/core/guards/guards-consumer';
import { GuardsContextCreator } from '@nestjs/core/guards/guards-context-creator';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { InterceptorsContextCreator } from '@nestjs/core/interceptors/interceptors-context-creator';
import { PipesConsumer } from '@nestjs/core/pipes/pipes-consumer';
import { PipesContextCreator } from '@nestjs/core/pipes/pipes-context-creator';
import { CELERY_CONTEXT_TYPE } from '../celery.constants';
import { NestPipelineUnavailableError } from '../errors/nest-pipeline-unavailable.error';
import { TaskInvoker } from '../task/method-task';
import { currentTask } from '../task/task-context';
import { boundArgumentsHandler } from './bound-arguments-handler';
import { outcomeAfterFilters } from './exception-filter-outcome';
import { withReadableMessage } from './readable-http-exception';
import { taskArgumentParameters } from './decorated-parameters-signature';
import { taskArgumentsFactory } from './task-arguments.factory';
import { TaskEnhancers } from './task-enhancers';

/** The task method to run through the pipeline, on its DI-built instance. */
export interface PipelineTarget {
  instance: object;
  method: Function;
  methodName: string;
  /** The key of the module that provides the instance, where Nest keeps its enhancers' instances. */
  moduleKey: string;
}

/**
 * Runs task methods through Nest's guards, interceptors, pipes and exception filters, the way
 * @golevelup/nestjs-rabbitmq runs its handlers: Nest's ExternalContextCreator, here with context
 * type 'celery' and `[boundArguments, taskContext]` as the execution context's arguments
 * (`switchToRpc().getData()` / `getContext()`).
 *
 * The app's global enhancers (`app.useGlobalGuards()`, `APP_GUARD`…) are not applied: they are
 * made for the app's HTTP requests — a global auth guard would deny every task — and Nest's own
 * hybrid microservices do not inherit them either unless asked (`inheritAppConfig`). A task gets
 * the enhancers declared on its method and its class, which its reader sees.
 */
export class TaskPipelines {
  private readonly contexts: ExternalContextCreator;
  private readonly filterContexts: ExternalExceptionFilterContext;

  constructor(container: NestContainer) {
    // No ApplicationConfig given to the context creators: that is what leaves the global enhancers out.
    this.contexts = new ExternalContextCreator(
      new GuardsContextCreator(container),
      new GuardsConsumer(),
      new InterceptorsContextCreator(container),
      new InterceptorsConsumer(),
      container.getModules(),
      new PipesContextCreator(container),
      new PipesConsumer(),
      new ExternalExceptionFilterContext(container),
    );
    this.filterContexts = new ExternalExceptionFilterContext(container);
  }

  /**
   * Nest keeps its container out of DI; every ModuleRef holds it (a protected member, read once at
   * start-up). `source` names the task that needs it, for the error.
   */
  static fromModuleRef(moduleRef: ModuleRef, source: string): TaskPipelines {
    const container = (moduleRef as unknown as { container?: NestContainer }).container;
    if (typeof container?.getModules !== 'function') throw new NestPipelineUnavailableError(source);
    return new TaskPipelines(container);
  }

  invoker({ instance, method, methodName, moduleKey }: PipelineTarget, enhancers: TaskEnhancers): TaskInvoker {
    const handler = enhancers.parameters.length > 0 ? method : boundArgumentsHandler(method);
    // Filters are run below, not by Nest: a retry request must get past them.
    const run = this.contexts.create(
      instance,
      handler as (...args: unknown[]) => unknown,
      methodName,
      ROUTE_ARGS_METADATA,
      taskArgumentsFactory(taskArgumentParameters(enhancers.parameters)),
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: false },
      CELERY_CONTEXT_TYPE,
    );
    const filters = enhancers.filters ? this.filterContexts.create(instance, handler as never, moduleKey) : null;
    const classRef = instance.constructor as new () => unknown;
    return async (boundArguments) => {
      const task = currentTask();
      try {
        return await run(boundArguments, task);
      } catch (error) {
        if (!filters) throw withReadableMessage(error);
        const host = new ExecutionContextHost([boundArguments, task], classRef, handler);
        host.setType(CELERY_CONTEXT_TYPE);
        try {
          return await outcomeAfterFilters(filters, error, host);
        } catch (failure) {
          throw withReadableMessage(failure);
        }
      }
    };
  }
}

import { TaskDeclaration } from '../decorators/celery-task.decorator';
import { MethodTask, TaskInvoker } from '../task/method-task';
import { checkParameterDecorators } from './check-parameter-decorators';
import { decoratedParametersSignature } from './decorated-parameters-signature';
import { resolveTaskSignature } from './resolve-task-signature';
import { findTaskEnhancers, needsNestPipeline } from './task-enhancers';
import { TaskPipelines } from './task-pipelines';

/** A `@CeleryTask()` method the explorer found on a provider. */
export interface DiscoveredTask {
  readonly declaration: TaskDeclaration;
  readonly instance: object;
  /** The method as the class has it now (another decorator's wrapper, maybe): the one that runs. */
  readonly method: Function;
  readonly methodName: string;
  /** `ClassName.method`, for messages and the default task name. */
  readonly source: string;
  /** The key of the module that provides the instance. */
  readonly moduleKey: string;
}

/**
 * Makes the task the worker runs: its kwargs names settled, its parameter decorators checked,
 * and its invoker — the method itself, or, only when the method or its class declares guards,
 * interceptors, pipes, filters or parameter decorators, the method behind Nest's pipeline.
 * Every refusal happens here, at start-up.
 */
export function buildMethodTask(task: DiscoveredTask, pipelines: (source: string) => TaskPipelines): MethodTask {
  const { declaration, instance, method, methodName, source } = task;
  const name = declaration.options.name ?? source;
  const methodSignature = resolveTaskSignature(name, source, declaration);
  const enhancers = findTaskEnhancers(instance.constructor, method, methodName);
  checkParameterDecorators(name, source, methodSignature, enhancers);
  const signature = enhancers.parameters.length > 0 ? decoratedParametersSignature(name, source, methodSignature, enhancers.parameters) : methodSignature;
  const invoke: TaskInvoker = needsNestPipeline(enhancers)
    ? pipelines(source).invoker(task, enhancers)
    : (boundArguments) => method.apply(instance, boundArguments);
  return new MethodTask(name, declaration.options, source, signature, invoke);
}

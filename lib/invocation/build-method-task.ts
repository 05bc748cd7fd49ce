import { TaskDeclaration } from '../decorators/celery-task.decorator';
import { MethodTask, TaskInvoker } from '../worker/method-task';
import { resolveTaskSignature } from './resolve-task-signature';

/** A `@CeleryTask()` method the explorer found on a provider. */
export interface DiscoveredTask {
  readonly declaration: TaskDeclaration;
  readonly instance: object;
  /** The method as the class has it now (another decorator's wrapper, maybe): the one that runs. */
  readonly method: Function;
  readonly methodName: string;
  /** `ClassName.method`, for messages and the default task name. */
  readonly source: string;
}

/**
 * Makes the task the worker runs: its kwargs names settled, its invoker the method as the class
 * has it now. Every refusal happens here, at start-up.
 */
export function buildMethodTask(task: DiscoveredTask): MethodTask {
  const { declaration, instance, method, source } = task;
  const name = declaration.options.name ?? source;
  const signature = resolveTaskSignature(name, source, declaration);
  const invoke: TaskInvoker = (boundArguments) => method.apply(instance, boundArguments);
  return new MethodTask(name, declaration.options, source, signature, invoke);
}

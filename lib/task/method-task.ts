import { TaskArgumentsError } from '../errors/task-arguments.error';
import { TaskDefinition, TaskOptions } from './task-definition';
import { TaskSignature } from './task-signature';

/** Runs the task's code with the arguments as bound, in parameter order. */
export type TaskInvoker = (boundArguments: readonly unknown[]) => unknown;

/**
 * A task that is an ordinary method (`@CeleryTask()`): Celery's args and kwargs are bound to its
 * parameters by position and by name, the way Python binds them, then handed to its invoker (the
 * method itself, or the method behind Nest's guards, interceptors, pipes and filters).
 */
export class MethodTask implements TaskDefinition {
  constructor(
    readonly name: string,
    readonly options: TaskOptions,
    readonly source: string,
    private readonly signature: TaskSignature,
    private readonly invoke: TaskInvoker,
  ) {}

  prepare(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): () => unknown {
    const bound = this.bindArguments(args, kwargs);
    return () => this.invoke(bound);
  }

  /**
   * Too many positional args, an unknown keyword, a value given twice or a missing required
   * argument are refused with a TaskArgumentsError (what Python raises as TypeError). Without
   * kwargs the message's own args list is used as is: nothing is copied per message.
   */
  bindArguments(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): readonly unknown[] {
    const { names, acceptsExtraPositional, requiredCount } = this.signature;
    if (!acceptsExtraPositional && args.length > names.length) {
      throw new TaskArgumentsError(this.name, `takes ${names.length} positional arguments but ${args.length} were given`);
    }
    let bound: unknown[] | null = null;
    for (const key in kwargs) {
      const position = names.indexOf(key);
      if (position < 0) throw new TaskArgumentsError(this.name, `got an unexpected keyword argument '${key}'`);
      if (position < args.length) throw new TaskArgumentsError(this.name, `got multiple values for argument '${key}'`);
      bound ??= [...args];
      bound[position] = kwargs[key];
    }
    const result = bound ?? args;
    for (let position = 0; position < requiredCount; position++) {
      if (!(position in result)) {
        throw new TaskArgumentsError(this.name, `missing required argument '${names[position] ?? `#${position + 1}`}'`);
      }
    }
    return result;
  }
}

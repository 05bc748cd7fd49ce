import { TaskArgumentsError } from '../errors/task-arguments.error';
import { ParameterList, readParameterNames } from './parameter-names';
import { TaskDefinition, TaskOptions } from './task-definition';

/**
 * A task that is an ordinary method (`@CeleryTask()`): Celery's args and kwargs are bound to its
 * parameters by position and by name, the way Python binds them.
 */
export class MethodTask implements TaskDefinition {
  private readonly parameters: ParameterList;
  private readonly requiredCount: number;

  constructor(
    readonly name: string,
    private readonly method: (...args: any[]) => unknown,
    private readonly instance: unknown,
    readonly options: TaskOptions,
    readonly source: string,
  ) {
    this.parameters = readParameterNames(method);
    this.requiredCount = method.length;
  }

  prepare(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): () => unknown {
    const bound = this.bindArguments(args, kwargs);
    return () => this.method.apply(this.instance, bound);
  }

  /**
   * Too many positional args, an unknown keyword, a value given twice or a missing required
   * argument are refused with a TaskArgumentsError (what Python raises as TypeError).
   */
  bindArguments(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): unknown[] {
    const { names, hasRest } = this.parameters;
    if (!hasRest && args.length > names.length) {
      throw new TaskArgumentsError(this.name, `takes ${names.length} positional arguments but ${args.length} were given`);
    }
    const bound = [...args];
    for (const key of Object.keys(kwargs)) {
      const position = names.indexOf(key);
      if (position < 0) throw new TaskArgumentsError(this.name, `got an unexpected keyword argument '${key}'`);
      if (position < args.length) throw new TaskArgumentsError(this.name, `got multiple values for argument '${key}'`);
      bound[position] = kwargs[key];
    }
    for (let position = 0; position < this.requiredCount; position++) {
      if (!(position in bound)) {
        throw new TaskArgumentsError(this.name, `missing required argument '${names[position] ?? `#${position + 1}`}'`);
      }
    }
    return bound;
  }
}

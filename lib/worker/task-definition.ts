import { TaskArgumentsError } from '../errors/task-arguments.error';
import { ParameterList, readParameterNames } from './parameter-names';

/**
 * Per-task settings, the attributes of a Celery task class in camelCase. Unset values fall back
 * to the module's worker defaults (see execution-settings.ts, the one place that decides).
 */
export interface TaskOptions {
  /** Registered name other languages call it by, e.g. 'tasks.add' (Celery: `name`). Defaults to `ClassName.method`. */
  name?: string;
  /** Ack after the result is stored instead of before running (Celery: `acks_late`). */
  acksLate?: boolean;
  /** Store nothing on success (Celery: `ignore_result`). Failures are still stored. */
  ignoreResult?: boolean;
  /** Store STARTED when the task begins (Celery: `track_started`). */
  trackStarted?: boolean;
}

/** A task the worker can run: a name bound to a function, with what is needed to call it. */
export class TaskDefinition {
  private readonly parameters: ParameterList;
  private readonly requiredCount: number;

  constructor(
    readonly name: string,
    private readonly fn: (...args: any[]) => unknown,
    private readonly thisArg: unknown,
    readonly options: TaskOptions,
    /** Where it was declared, for error messages: `MathTasks.add`. */
    readonly source: string,
  ) {
    this.parameters = readParameterNames(fn);
    this.requiredCount = fn.length;
  }

  /**
   * Binds Celery's args and kwargs to the function's parameters, the way Python binds them:
   * too many positional args, an unknown keyword, a value given twice or a missing required
   * argument are refused with a TaskArgumentsError (Python's TypeError).
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
        const name = names[position] ?? `#${position + 1}`;
        throw new TaskArgumentsError(this.name, `missing required argument '${name}'`);
      }
    }
    return bound;
  }

  run(boundArguments: unknown[]): unknown {
    return this.fn.apply(this.thisArg, boundArguments);
  }
}

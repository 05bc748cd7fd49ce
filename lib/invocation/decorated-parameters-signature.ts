import { TaskParameterDecoratorsError } from '../errors/task-parameter-decorators.error';
import { TaskSignature } from '../task/task-signature';
import { DecoratedParameter } from './task-enhancers';

/**
 * The positions of a method's `@TaskArg()` parameters: the task's arguments, in order. Others
 * are filled by their own decorators (a `createParamDecorator()` one, say, reading a header).
 */
export function taskArgumentParameters(parameters: readonly DecoratedParameter[]): number[] {
  return parameters.filter((parameter) => parameter.kind === 'task-argument').map((parameter) => parameter.index);
}

/**
 * The signature Celery's args and kwargs bind to when a method has parameter decorators: only its
 * `@TaskArg()` parameters, by their names, in their order. A parameter another decorator fills is
 * not a task argument: a kwarg of its name is refused, not silently ignored.
 */
export function decoratedParametersSignature(taskName: string, source: string, method: TaskSignature, parameters: readonly DecoratedParameter[]): TaskSignature {
  const positions = taskArgumentParameters(parameters);
  const names = positions.map((position) => {
    const name = method.names[position];
    if (name === undefined) {
      throw new TaskParameterDecoratorsError(taskName, source, `parameter #${position + 1} is a @TaskArg() but has no name`, 'List every parameter in argNames.');
    }
    return name;
  });
  // Required parameters come before optional ones, so the required task arguments lead too.
  const requiredCount = positions.filter((position) => position < method.requiredCount).length;
  return { names, acceptsExtraPositional: false, requiredCount };
}

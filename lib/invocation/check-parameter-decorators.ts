import { TaskParameterDecoratorsError } from '../errors/task-parameter-decorators.error';
import { TaskSignature } from '../task/task-signature';
import { TaskEnhancers } from './task-enhancers';

/**
 * Refuses at start-up what Nest would otherwise do silently with a task's parameters: with
 * parameter decorators, Nest passes the method only the parameters they mark (the others get
 * undefined, extra positional args are dropped); without any, pipes have nothing to apply to.
 */
export function checkParameterDecorators(taskName: string, source: string, signature: TaskSignature, enhancers: TaskEnhancers): void {
  const { parameters } = enhancers;
  const fail = (problem: string, fix: string) => new TaskParameterDecoratorsError(taskName, source, problem, fix);
  const foreign = parameters.find((parameter) => parameter.kind === 'foreign');
  if (foreign) {
    throw fail(
      `parameter #${foreign.index + 1} has a decorator tasks cannot fill (an HTTP or microservice one such as @Body() or @Payload())`,
      'Use @TaskArg() for task arguments, or a decorator made with createParamDecorator().',
    );
  }
  const takesParameters = signature.names.length > 0 || signature.acceptsExtraPositional;
  if (parameters.length === 0) {
    if (enhancers.pipes && takesParameters) {
      throw fail('pipes are declared (@UsePipes()) but no parameter is marked for them', 'Mark the parameters they apply to with @TaskArg().');
    }
    return;
  }
  if (signature.acceptsExtraPositional) {
    throw fail(
      'it has parameter decorators and takes any number of positional arguments (a rest parameter, or argNames: []); Nest would pass it only the parameters its decorators mark',
      'Declare fixed parameters, or remove the parameter decorators.',
    );
  }
  const count = Math.max(signature.names.length, parameters[parameters.length - 1].index + 1);
  const marked = new Set(parameters.map((parameter) => parameter.index));
  for (let index = 0; index < count; index++) {
    if (!marked.has(index)) {
      throw fail(
        `parameter #${index + 1} (${signature.names[index] ?? 'unnamed'}) has no decorator while others have; Nest passes a method with parameter decorators only the parameters they mark`,
        'Mark it with @TaskArg().',
      );
    }
  }
}

import { CeleryError } from './celery.error';

/**
 * The names Celery kwargs would bind to are not known for sure (the bootstrap stops): the method
 * `@CeleryTask()` read does not name its parameters, or `argNames` is not a list of distinct names.
 */
export class TaskArgumentNamesError extends CeleryError {
  static unreadable(taskName: string, source: string, seen: string): TaskArgumentNamesError {
    return new TaskArgumentNamesError(
      `Task "${taskName}" (${source}) cannot bind keyword arguments: @CeleryTask() saw ${seen}, so the names of its parameters are not known for sure. ` +
        'Expected a name for each parameter. Give each parameter a name, ' +
        `or declare the names: @CeleryTask({ name: '${taskName}', argNames: ['first', 'second'] }), or argNames: [] to take positional arguments only.`,
    );
  }

  static invalid(taskName: string, source: string, problem: string): TaskArgumentNamesError {
    return new TaskArgumentNamesError(
      `Task "${taskName}" (${source}) has invalid argNames: ${problem}. Expected the method's parameter names, each once, in order. Correct @CeleryTask({ argNames }).`,
    );
  }
}

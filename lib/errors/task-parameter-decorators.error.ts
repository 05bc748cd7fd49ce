import { CeleryError } from './celery.error';

/**
 * A task's parameter decorators or pipes would not do what they say (the bootstrap stops): a
 * parameter left out, a decorator tasks cannot fill, pipes with no parameter to apply to.
 */
export class TaskParameterDecoratorsError extends CeleryError {
  constructor(taskName: string, source: string, problem: string, fix: string) {
    super(`Task "${taskName}" (${source}): ${problem}. ${fix}`);
  }
}

import { CeleryError } from './celery.error';

/** Two providers registered the same task name: the bootstrap stops and names both. */
export class DuplicateTaskNameError extends CeleryError {
  constructor(name: string, firstSource: string, secondSource: string) {
    super(
      `Task name "${name}" is registered twice: by ${firstSource} and by ${secondSource}. ` +
        'Task names must be unique across the application; give one of them another name in @CeleryTask({ name }).',
    );
  }
}

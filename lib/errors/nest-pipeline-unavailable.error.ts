import { CeleryError } from './celery.error';

/**
 * The installed @nestjs/core does not let tasks run through its guards, interceptors, pipes and
 * filters (its container is not where @nestjs/core 10 and 11 keep it): the bootstrap stops rather
 * than run a guarded task unguarded.
 */
export class NestPipelineUnavailableError extends CeleryError {
  constructor(source: string) {
    super(
      `${source} declares guards, interceptors, pipes, filters or parameter decorators, but this version of @nestjs/core keeps no container on ModuleRef, ` +
        'so they cannot be applied. Expected @nestjs/core 10 or 11. Use one of those, or remove those decorators from the task.',
    );
  }
}

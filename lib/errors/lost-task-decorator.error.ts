import { CeleryError } from './celery.error';

/**
 * A decorator applied after `@CeleryTask()` (listed above it) replaced the method without copying
 * its metadata, so Nest would no longer see the task: the bootstrap stops instead of leaving the
 * task unregistered.
 */
export class LostTaskDecoratorError extends CeleryError {
  constructor(source: string) {
    super(
      `@CeleryTask() on ${source} is lost: a decorator listed above it replaced the method without copying the method's metadata, ` +
        'so the method Nest finds is no longer a task (guards, interceptors and filters declared below that decorator are lost too). ' +
        "Expected the method on the class to carry @CeleryTask()'s metadata. Make that decorator copy the metadata of the method it wraps " +
        '(Reflect.getMetadataKeys / defineMetadata), or list @CeleryTask() above it.',
    );
  }
}

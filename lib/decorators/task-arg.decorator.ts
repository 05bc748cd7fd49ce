import { assignMetadata, PipeTransform, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { CELERY_TASK_ARGUMENT_PARAMTYPE } from '../celery.constants';
import { CeleryError } from '../errors/celery.error';

/**
 * Marks a `@CeleryTask()` parameter as the task argument in its position (bound from Celery's
 * args, or from kwargs by name) and runs it through the given pipes, as `@Payload()` does for a
 * Nest microservice handler: `ValidationPipe`, `ParseIntPipe` or your own. Celery has none: Python
 * passes arguments unchecked. With it on one parameter, mark every parameter: Nest passes a method
 * with parameter decorators only the parameters they mark (the start-up says when one is missing).
 *
 * ```ts
 * @CeleryTask('tasks.resize')
 * resize(@TaskArg(ParseIntPipe) width: number, @TaskArg() imageId: string) { … }
 * ```
 */
export function TaskArg(...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return (target, methodName, index) => {
    if (methodName === undefined) {
      throw new CeleryError(`@TaskArg() marks parameters of @CeleryTask() methods; it is on parameter #${index + 1} of the constructor of ${(target as Function).name}. Remove it.`);
    }
    const existing = Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, methodName) ?? {};
    // Nest hands pipes `data` as ArgumentMetadata.data; ours is the parameter's position, which the params factory reads.
    Reflect.defineMetadata(ROUTE_ARGS_METADATA, assignMetadata(existing, CELERY_TASK_ARGUMENT_PARAMTYPE, index, index, ...pipes), target.constructor, methodName);
  };
}

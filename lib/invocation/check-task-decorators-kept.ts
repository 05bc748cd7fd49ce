import { CELERY_TASK_METADATA, CELERY_TASK_METHODS_METADATA } from '../celery.constants';
import { LostTaskDecoratorError } from '../errors/lost-task-decorator.error';

/**
 * Throws when a method `@CeleryTask()` decorated no longer carries its metadata: a decorator
 * listed above it replaced the method without copying it, and the task would silently not exist.
 * Each class of the prototype chain is checked against the methods it declared itself.
 */
export function checkTaskDecoratorsKept(prototype: object): void {
  for (let current: object | null = prototype; current && current !== Object.prototype; current = Object.getPrototypeOf(current)) {
    const declared: readonly (string | symbol)[] = Reflect.getOwnMetadata(CELERY_TASK_METHODS_METADATA, current) ?? [];
    for (const methodName of declared) {
      const method: unknown = Object.getOwnPropertyDescriptor(current, methodName)?.value;
      if (typeof method !== 'function' || !Reflect.getMetadata(CELERY_TASK_METADATA, method)) {
        throw new LostTaskDecoratorError(`${current.constructor.name}.${String(methodName)}`);
      }
    }
  }
}

/** Injection tokens and metadata keys of the module, in one place. */
export const CELERY_MODULE_OPTIONS = Symbol('CELERY_MODULE_OPTIONS');
export const CELERY_CONFIG = Symbol('CELERY_CONFIG');
export const CELERY_BROKER = Symbol('CELERY_BROKER');
export const CELERY_RESULT_BACKEND = Symbol('CELERY_RESULT_BACKEND');
export const CELERY_TASK_METADATA = 'celery:task';
/** On a class's prototype: the names of its methods `@CeleryTask()` decorated. */
export const CELERY_TASK_METHODS_METADATA = 'celery:task-methods';
export const CELERY_LOGGER_CONTEXT = 'Celery';
export const CELERY_TASK_SIGNAL_METADATA = 'celery:task-signal';
export const CELERY_ALERT_METADATA = 'celery:alert';
/** The CeleryRuntime the module's providers come from (runtime/create-celery-runtime.ts). */
export const CELERY_RUNTIME = Symbol('CELERY_RUNTIME');
/** `ExecutionContext.getType()` while a task runs through Nest's guards, interceptors, pipes and filters. */
export const CELERY_CONTEXT_TYPE = 'celery';
export type CeleryContextType = typeof CELERY_CONTEXT_TYPE;
/** The parameter type `@TaskArg()` records among a method's route-argument metadata (Nest's own types are 0–12). */
export const CELERY_TASK_ARGUMENT_PARAMTYPE = 100;

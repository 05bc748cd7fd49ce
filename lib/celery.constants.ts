/** Injection tokens and metadata keys of the module, in one place. */
export const CELERY_MODULE_OPTIONS = Symbol('CELERY_MODULE_OPTIONS');
export const CELERY_CONFIG = Symbol('CELERY_CONFIG');
export const CELERY_BROKER = Symbol('CELERY_BROKER');
export const CELERY_RESULT_BACKEND = Symbol('CELERY_RESULT_BACKEND');
export const CELERY_TASK_METADATA = 'celery:task';
/** On a class's prototype: the names of its methods `@CeleryTask()` decorated. */
export const CELERY_TASK_METHODS_METADATA = 'celery:task-methods';
export const CELERY_LOGGER_CONTEXT = 'Celery';
export const CELERY_TASK_EVENT_METADATA = 'celery:task-event';
export const CELERY_ALERT_METADATA = 'celery:alert';

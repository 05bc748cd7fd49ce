import { CeleryError } from './celery.error';

/**
 * The result backend options cannot work as given (Celery raises `ImproperlyConfigured`):
 * an unknown URL, a DataSource without our entities, a table missing columns.
 */
export class ResultBackendConfigurationError extends CeleryError {}

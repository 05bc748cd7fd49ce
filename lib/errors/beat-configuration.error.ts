import { CeleryError } from './celery.error';

/** The beat cannot start: no PostgreSQL database for its tables, one it cannot reach, or tables it cannot create. */
export class BeatConfigurationError extends CeleryError {}

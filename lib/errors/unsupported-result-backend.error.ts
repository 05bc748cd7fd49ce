import { CeleryError } from './celery.error';

/**
 * A `result_backend` URL scheme Celery knows but this module does not support (yet), or one
 * nobody knows. The message lists what is supported.
 */
export class UnsupportedResultBackendError extends CeleryError {
  constructor(
    /** With its colon (`redis:`); '' when the URL had none. */
    readonly scheme: string,
    supportedSchemes: readonly string[],
    plannedSchemes: readonly string[],
  ) {
    const planned = plannedSchemes.includes(scheme)
      ? `The ${scheme}// result backend is not yet supported. `
      : scheme
        ? `No result backend is known for the scheme "${scheme}//". `
        : 'The result backend URL has no scheme (such as postgresql://). ';
    super(
      `${planned}Expected one of: ${supportedSchemes.join(', ')} (or no URL for an embedded database). ` +
        'Use a PostgreSQL URL such as postgresql://user@host/db (Celery\'s db+postgresql:// works too).',
    );
  }
}

import { ResultBackendConfigurationError } from '../../errors/result-backend-configuration.error';
import { maskUrl } from '../../utils/mask-secrets';

const POSTGRES_SCHEME = /^(?:db\+)?(?:postgresql|postgres)(?:\+[a-z0-9_]+)?:\/\//i;

/** True for the PostgreSQL URL forms Celery users write (`db+postgresql+psycopg2://` included). */
export function isPostgresUrl(url: string): boolean {
  return POSTGRES_SCHEME.test(url);
}

/**
 * Turns Celery's SQLAlchemy-style URL (`db+postgresql://`, `postgresql+psycopg2://`) into the
 * plain `postgresql://` URL node-postgres understands; host, credentials and query stay as given.
 */
export function toNodePostgresUrl(url: string): string {
  if (!isPostgresUrl(url)) {
    throw new ResultBackendConfigurationError(
      `The database result backend got the URL ${maskUrl(url)}, which is not a PostgreSQL URL. ` +
        'Expected postgresql://user:password@host:5432/database (postgres:// and db+postgresql:// work too).',
    );
  }
  return url.replace(POSTGRES_SCHEME, 'postgresql://');
}

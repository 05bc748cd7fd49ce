import { createResultBackend } from '../../lib/backend/create-result-backend';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { toNodePostgresUrl } from '../../lib/backend/database/postgres-url';
import { RedisResultBackend } from '../../lib/backend/redis/redis-result-backend';
import { ResultBackendConfigurationError } from '../../lib/errors/result-backend-configuration.error';
import { UnsupportedResultBackendError } from '../../lib/errors/unsupported-result-backend.error';

describe('createResultBackend', () => {
  it.each([
    'postgresql://user:pw@db:5432/app',
    'postgres://user:pw@db:5432/app',
    'db+postgresql://user:pw@db:5432/app',
    'db+postgresql+psycopg2://user:pw@db:5432/app',
  ])('maps %s to the database backend, password masked', (url) => {
    const backend = createResultBackend({ url });
    expect(backend).toBeInstanceOf(DatabaseResultBackend);
    expect(backend.description).toContain('user:***@db:5432/app');
    expect(backend.description).not.toContain('pw');
  });

  it('uses the embedded database without a URL, or with embedded://', () => {
    expect(createResultBackend().description).toBe('PGlite in memory');
    expect(createResultBackend({ url: 'embedded://' }).description).toBe('PGlite in memory');
    expect(createResultBackend({ url: 'embedded:///var/lib/results' }).description).toBe('PGlite in /var/lib/results');
  });

  it.each(['redis://:secret@localhost:6379/0', 'rediss://:secret@host/0?ssl_cert_reqs=none', 'sentinel://:secret@s1:26379/0;sentinel://s2:26379/0?master_name=main'])('uses Redis for %s, the password masked', async (url) => {
    const backend = createResultBackend({ url });
    expect(backend).toBeInstanceOf(RedisResultBackend);
    expect(backend.description).toContain(':***@');
    expect(backend.description).not.toContain('secret');
    await backend.close();
  });

  it('names unknown schemes and URLs without one', () => {
    expect(() => createResultBackend({ url: 'db+mysql://u:p@h/db' })).toThrow(UnsupportedResultBackendError);
    expect(() => createResultBackend({ url: 'db+mysql://u:p@h/db' })).toThrow('No result backend is known for the scheme "db+mysql://"');
    expect(() => createResultBackend({ url: 'localhost:5432' })).toThrow('has no scheme');
  });

  it('refuses more than one source', () => {
    expect(() => new DatabaseResultBackend({ url: 'postgresql://h/db', embedded: {} })).toThrow(ResultBackendConfigurationError);
  });
});

describe('toNodePostgresUrl', () => {
  it("turns Celery's SQLAlchemy forms into postgresql://", () => {
    expect(toNodePostgresUrl('db+postgresql://u:p@h:1/d?sslmode=require')).toBe('postgresql://u:p@h:1/d?sslmode=require');
    expect(toNodePostgresUrl('postgresql+psycopg2://h/d')).toBe('postgresql://h/d');
    expect(toNodePostgresUrl('postgres://h/d')).toBe('postgresql://h/d');
  });

  it('refuses other databases with the URL masked', () => {
    expect(() => toNodePostgresUrl('mysql://u:secret@h/d')).toThrow('mysql://u:***@h/d, which is not a PostgreSQL URL');
  });
});

import { execFile } from 'node:child_process';

/** Debian's interpreter: the one that has python3-celery (the default `python3` may not). */
export const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

/**
 * Runs a Python script with real Celery 5.2.6 and returns its stdout. A missing Celery fails the
 * test with how to install it; it never skips.
 */
export function runPython(script: string, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', script],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const hint = /No module named '?celery/.test(stderr)
            ? '\nPython Celery is missing: apt-get install -y python3-celery python3-sqlalchemy python3-psycopg2'
            : '';
          reject(new Error(`Python failed (${error.message})\n${stderr}${hint}`));
        } else resolve(stdout);
      },
    );
  });
}

/** The SQLAlchemy URL Celery's database backend uses for a postgresql:// URL. */
export function celeryDatabaseUrl(postgresUrl: string): string {
  return `db+${postgresUrl}`;
}

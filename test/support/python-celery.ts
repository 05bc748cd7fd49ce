import { execFile } from 'node:child_process';
import { PYTHON, pythonEnvironment } from './celery-peer';

export { CELERY_PEER, PYTHON, pythonEnvironment } from './celery-peer';

/**
 * Runs a Python script with the peer Celery (celery-peer.ts) and returns its stdout. A missing
 * Celery fails the test with how to install it; it never skips. `pythonPath` goes on PYTHONPATH
 * after the peer's directory.
 */
export function runPython(script: string, options: { env?: Record<string, string>; pythonPath?: string[]; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', script],
      { env: pythonEnvironment(options.env, options.pythonPath), timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
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

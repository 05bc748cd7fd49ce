import { celeryDatabaseUrl } from './python-celery';
import { TestEnvironment } from './test-environment';

/** One way results travel between us and Python Celery, as each side configures it. */
export interface ResultChannel {
  /** Where results travel: Celery's database tables, or rpc:// reply messages. */
  kind: 'database' | 'rpc';
  /** Our `backend` option. */
  ours(env: TestEnvironment): string;
  /** Python's `result_backend`. */
  theirs(env: TestEnvironment): string;
  /** Python's `result_extended`. */
  resultExtended: boolean;
}

/** Celery's database tables, shared: our PostgreSQL URL, Python's `db+postgresql://` form of it. */
export function databaseChannel(resultExtended = false): ResultChannel {
  return { kind: 'database', ours: (env) => env.databaseUrl, theirs: (env) => celeryDatabaseUrl(env.databaseUrl), resultExtended };
}

/** rpc:// replies on both sides. */
export const RPC_CHANNEL: ResultChannel = { kind: 'rpc', ours: () => 'rpc://', theirs: () => 'rpc://', resultExtended: false };

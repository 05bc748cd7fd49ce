import { maskSecretsInText } from '../../utils/mask-secrets';

/** Socket-level failures: the server is restarting, unreachable, or dropped the connection. */
const TRANSIENT_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
]);

/**
 * SQLSTATEs worth retrying: shutting down or starting up (57P0x), too many connections, and
 * conflicts that succeed on a second try (our statements are safe to repeat).
 */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);

/** node-postgres reports a dropped connection through messages only, not codes. */
const TRANSIENT_MESSAGE = /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|server closed the connection/i;

/** SQLSTATEs that mean Celery's tables or columns are missing: the migrations did not run. */
const MISSING_SCHEMA_SQLSTATES: ReadonlySet<string> = new Set(['42P01', '42703', '42883']);

/** The driver's error inside TypeORM's QueryFailedError, or the error itself. */
function driverErrorOf(error: unknown): { code?: unknown; message?: unknown } {
  const wrapped = error as { driverError?: unknown } | null;
  const inner = wrapped && typeof wrapped === 'object' && wrapped.driverError ? wrapped.driverError : error;
  return (inner ?? {}) as { code?: unknown; message?: unknown };
}

/** True when retrying later can succeed: the database is unavailable, not the statement wrong. */
export function isTransientPostgresError(error: unknown): boolean {
  const { code, message } = driverErrorOf(error);
  if (typeof code === 'string') {
    if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  return typeof message === 'string' && TRANSIENT_MESSAGE.test(message);
}

/** True when the error says a Celery table, column or function does not exist. */
export function isMissingSchemaError(error: unknown): boolean {
  const { code } = driverErrorOf(error);
  return typeof code === 'string' && MISSING_SCHEMA_SQLSTATES.has(code);
}

/** The error's message with any URL credentials masked, for our own error messages and logs. */
export function describeDatabaseError(error: unknown): string {
  const { code, message } = driverErrorOf(error);
  const text = typeof message === 'string' && message ? message : String(error);
  return maskSecretsInText(typeof code === 'string' ? `${text} [${code}]` : text);
}

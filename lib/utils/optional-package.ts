import { MissingPackageError } from '../errors/missing-package.error';

/**
 * The optional peer dependencies our code loads, each only when the part that needs it is
 * configured (package.json's peerDependenciesMeta lists these and @nestjs/microservices, which
 * only the `nestjs-celery/microservices` entry point imports):
 *
 * - `ioredis`: the redis://, rediss:// and sentinel:// broker and result backend;
 * - `typeorm` + `pg`: the PostgreSQL result backend and the transactional outbox;
 * - `typeorm` + `@electric-sql/pglite` + `typeorm-pglite`: the `embedded://` result backend;
 * - `prom-client`: `metrics`;
 * - `@opentelemetry/api`: `tracing`;
 * - `@aws-sdk/client-sqs`: the sqs:// broker.
 */
export const OPTIONAL_PACKAGES = ['ioredis', 'typeorm', 'pg', '@electric-sql/pglite', 'typeorm-pglite', 'prom-client', '@opentelemetry/api', '@aws-sdk/client-sqs'] as const;

export type OptionalPackage = (typeof OPTIONAL_PACKAGES)[number];

/**
 * Loads an optional package for the part that needs it (`neededBy`, e.g. "The redis:// broker").
 * Not installed → MissingPackageError naming it and `npm install <name>`, at start-up, where the
 * part is configured. Importing nestjs-celery never loads these: only this function does.
 */
export function loadOptionalPackage<T>(name: OptionalPackage, neededBy: string): T {
  requireOptionalPackages([name], neededBy);
  return loadPackage(name) as T;
}

/** Checks (by loading them) that every package a part needs is installed; one error lists all that are not. */
export function requireOptionalPackages(names: readonly OptionalPackage[], neededBy: string): void {
  const missing = names.filter((name) => !isInstalled(name));
  if (missing.length > 0) throw new MissingPackageError(missing, neededBy);
}

function isInstalled(name: OptionalPackage): boolean {
  try {
    loadPackage(name);
    return true;
  } catch (error) {
    if (isNotFound(error, name)) return false;
    throw error; // installed but failing to load: its own error says more than ours would
  }
}

/** Node's "Cannot find module '<name>'" for the package itself, not for something it requires. */
function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.startsWith(`Cannot find module '${name}'`);
}

/**
 * require(name); pg with a `navigator` stand-in on a Node that has none (Node 20). pg asks, as it
 * loads (lib/stream.js, isCloudflareRuntime), whether it runs on Cloudflare Workers: it reads
 * `navigator.userAgent`, and with no navigator builds a fetch `Response`, which loads Node's bundled
 * undici (http2, worker_threads, web streams), for a check whose answer is "no". Measured on Node
 * 20.20: require('pg') in a bare process 53.8 → 49.0 MiB, an idle worker with PostgreSQL results
 * 97.5 → 94.3 MiB (it has loaded crypto and tls already). Node 21 and later have `navigator`
 * (userAgent "Node.js/…") and are not touched. The stand-in says what Node 21 would, and exists
 * only during this synchronous require: no other code can see it.
 */
function loadPackage(name: OptionalPackage): unknown {
  if (name !== 'pg' || 'navigator' in globalThis) return require(name);
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
  try {
    return require(name);
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

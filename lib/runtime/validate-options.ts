import { alertOptionProblems } from '../alerts/alert-options';
import { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
import { CeleryModuleOptions } from '../interfaces/celery-module-options.interface';
import { SECURITY_DIGESTS } from '../protocol/auth-serializer';
import { maskUrl } from '../utils/mask-secrets';

/**
 * Checks CeleryModule options at start-up and throws one InvalidCeleryOptionsError naming every
 * bad option, its value (secrets masked) and what is expected. URL schemes are checked where
 * they are decided, by createBroker() and createResultBackend(), which fail just as early.
 */
export function validateCeleryOptions(options: CeleryModuleOptions | undefined | null): CeleryModuleOptions {
  if (options === undefined || options === null) return {};
  const problems: string[] = [];
  if (typeof options !== 'object') throw new InvalidCeleryOptionsError([`options must be an object, got ${typeof options}`]);

  const broker = options.broker;
  if (broker !== undefined) {
    const url = typeof broker === 'string' ? broker : broker?.url;
    checkUrl(problems, typeof broker === 'string' ? 'broker' : 'broker.url', url);
    if (typeof broker === 'object' && broker !== null) {
      for (const key of ['heartbeatSeconds', 'reconnectDelayMs', 'maxReconnectDelayMs', 'publishTimeoutMs', 'connectTimeoutMs', 'closeTimeoutMs', 'visibilityTimeoutSeconds'] as const) {
        checkPositive(problems, `broker.${key}`, broker[key], true);
      }
    }
  }

  const backend = options.backend;
  if (typeof backend === 'string') checkUrl(problems, 'backend', backend);
  else if (backend !== undefined && backend !== false) {
    if (typeof backend !== 'object' || backend === null || (backend.type !== 'postgres' && backend.type !== 'embedded' && backend.type !== 'redis')) {
      problems.push(`backend must be a URL, false, { type: 'postgres', … }, { type: 'embedded', … } or { type: 'redis', url }, got ${describe(backend)}`);
    } else {
      if (backend.type === 'postgres') {
        if (backend.url === undefined && backend.dataSource === undefined) problems.push(`backend of type 'postgres' needs a url or a dataSource`);
        if (backend.url !== undefined) checkUrl(problems, 'backend.url', backend.url);
      }
      if (backend.type === 'redis') checkUrl(problems, 'backend.url', backend.url);
      checkPositive(problems, 'backend.resultExpiresSeconds', backend.resultExpiresSeconds, false);
    }
  }

  if (options.defaultQueue !== undefined) checkName(problems, 'defaultQueue', options.defaultQueue);
  if (options.queues !== undefined && (typeof options.queues !== 'object' || options.queues === null || Array.isArray(options.queues))) {
    problems.push(`queues must be an object of queue name → queue options, got ${describe(options.queues)}`);
  }

  const routes = options.taskRoutes;
  if (routes !== undefined) {
    const entries = Array.isArray(routes) ? routes : [routes];
    if (!entries.every((entry) => typeof entry === 'function' || (typeof entry === 'object' && entry !== null && !Array.isArray(entry)))) {
      problems.push(`taskRoutes must be an object of task name or glob → queue name or route, a router function, or a list of those, got ${describe(routes)}`);
    }
  }

  if (options.sendSentEvent !== undefined && typeof options.sendSentEvent !== 'boolean') {
    problems.push(`sendSentEvent must be true or false, got ${describe(options.sendSentEvent)}`);
  }

  const worker = options.worker;
  if (worker !== undefined && worker !== false) {
    if (typeof worker !== 'object' || worker === null) problems.push(`worker must be an object or false, got ${describe(worker)}`);
    else {
      if (worker.queues !== undefined) {
        if (!Array.isArray(worker.queues) || worker.queues.length === 0) problems.push(`worker.queues must be a non-empty array of queue names, got ${describe(worker.queues)}`);
        else worker.queues.forEach((queue, index) => checkName(problems, `worker.queues[${index}]`, queue));
      }
      checkInteger(problems, 'worker.concurrency', worker.concurrency);
      checkInteger(problems, 'worker.prefetchMultiplier', worker.prefetchMultiplier);
      checkPositive(problems, 'worker.shutdownTimeoutMs', worker.shutdownTimeoutMs, false);
      checkPositive(problems, 'worker.heartbeatIntervalSeconds', worker.heartbeatIntervalSeconds, true);
      checkInteger(problems, 'worker.maxMessageBytes', worker.maxMessageBytes);
      checkPositive(problems, 'worker.etaParkThresholdSeconds', worker.etaParkThresholdSeconds, false);
      if (worker.delayedDeliveryQueueType !== undefined && worker.delayedDeliveryQueueType !== 'quorum' && worker.delayedDeliveryQueueType !== 'classic') {
        problems.push(`worker.delayedDeliveryQueueType must be 'quorum' or 'classic' (Celery: broker_native_delayed_delivery_queue_type), got ${describe(worker.delayedDeliveryQueueType)}`);
      }
      if (worker.hostname !== undefined) checkName(problems, 'worker.hostname', worker.hostname);
      for (const key of ['acksLate', 'rejectOnWorkerLost', 'trackStarted', 'ignoreResult', 'autoStart', 'exitOnRemoteShutdown', 'sendTaskEvents', 'logTasks'] as const) {
        if (worker[key] !== undefined && typeof worker[key] !== 'boolean') problems.push(`worker.${key} must be true or false, got ${describe(worker[key])}`);
      }
    }
  }
  const metrics = options.metrics;
  if (metrics !== undefined && typeof metrics !== 'boolean') {
    if (typeof metrics !== 'object' || metrics === null) problems.push(`metrics must be true, false or { registry?, prefix? }, got ${describe(metrics)}`);
    else if (metrics.prefix !== undefined && (typeof metrics.prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(metrics.prefix))) {
      problems.push(`metrics.prefix must be a Prometheus name prefix such as 'celery_' (letters, digits, _ and :), got ${describe(metrics.prefix)}`);
    }
  }
  const alerts = options.alerts;
  if (alerts !== undefined && alerts !== false) {
    if (typeof alerts !== 'object' || alerts === null) problems.push(`alerts must be false or an object of alert rules, got ${describe(alerts)}`);
    else problems.push(...alertOptionProblems(alerts));
  }
  checkSecurity(problems, options.security);
  if (options.outbox !== undefined) checkOutbox(problems, options.outbox);
  if (problems.length > 0) throw new InvalidCeleryOptionsError(problems);
  return options;
}

/** The shape of `security`; loadMessageSecurity() then checks the keys and certificates themselves. */
function checkSecurity(problems: string[], security: CeleryModuleOptions['security']): void {
  if (security === undefined) return;
  if (typeof security !== 'object' || security === null || Array.isArray(security)) {
    problems.push(`security must be { key?, certificate?, certStore?, digest?, required? }, got ${describe(security)}`);
    return;
  }
  for (const key of ['key', 'certificate'] as const) {
    // Never the value: it may be a private key.
    if (security[key] !== undefined && (typeof security[key] !== 'string' || security[key].length === 0)) problems.push(`security.${key} must be a PEM string or a file path`);
  }
  const store = security.certStore;
  if (store !== undefined && !(typeof store === 'string' || (Array.isArray(store) && store.length > 0 && store.every((item) => typeof item === 'string')))) {
    problems.push('security.certStore must be a PEM string, a file, a directory or a glob, or a non-empty list of those');
  }
  if (security.digest !== undefined && !(SECURITY_DIGESTS as readonly unknown[]).includes(security.digest)) {
    problems.push(`security.digest must be one of ${SECURITY_DIGESTS.join(', ')} (Celery: security_digest), got ${describe(security.digest)}`);
  }
  if (security.required !== undefined && typeof security.required !== 'boolean') problems.push(`security.required must be true or false, got ${describe(security.required)}`);
}

/** The transactional outbox: a database to relay from (and create the table in) unless both are off. */
function checkOutbox(problems: string[], outbox: NonNullable<CeleryModuleOptions['outbox']>): void {
  if (typeof outbox !== 'object' || outbox === null) {
    problems.push(`outbox must be an object such as { dataSource } or { url }, got ${describe(outbox)}`);
    return;
  }
  if (outbox.url !== undefined) checkUrl(problems, 'outbox.url', outbox.url);
  if (outbox.url !== undefined && outbox.dataSource !== undefined) problems.push('outbox takes a url or a dataSource, not both');
  const needsDatabase = outbox.relay !== false || outbox.migrationsRun !== false;
  if (needsDatabase && outbox.url === undefined && outbox.dataSource === undefined) {
    problems.push('outbox needs a dataSource (the TypeORM DataSource your transactions use) or a PostgreSQL url, unless relay and migrationsRun are both false');
  }
  for (const key of ['relay', 'migrationsRun'] as const) {
    if (outbox[key] !== undefined && typeof outbox[key] !== 'boolean') problems.push(`outbox.${key} must be true or false, got ${describe(outbox[key])}`);
  }
  checkPositive(problems, 'outbox.pollIntervalMs', outbox.pollIntervalMs, true);
  checkInteger(problems, 'outbox.batchSize', outbox.batchSize);
}

function checkUrl(problems: string[], name: string, url: unknown): void {
  if (typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    problems.push(`${name} must be a URL such as amqp://user:password@host:5672// or postgresql://user@host/db, got ${describe(url)}`);
  }
}

function checkInteger(problems: string[], name: string, value: unknown): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) problems.push(`${name} must be a positive integer, got ${describe(value)}`);
}

function checkPositive(problems: string[], name: string, value: unknown, strict: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (strict && value === 0)) {
    problems.push(`${name} must be a ${strict ? 'positive' : 'non-negative'} number, got ${describe(value)}`);
  }
}

function checkName(problems: string[], name: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim().length === 0) problems.push(`${name} must be a non-empty string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(maskUrl(value));
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? (value.length === 0 ? 'an empty array' : 'an array') : 'an object';
}

import { ALERT_OPTION_KEYS, alertOptionProblems } from '../alerts/alert-options';
import { CELERY_QUEUE_OPTION_KEYS } from '../broker/celery-queue';
import { ROUTE_KEYS } from '../client/task-router';
import { BROKER_OPTION_KEYS, BrokerOptions, FAILOVER_STRATEGIES } from '../broker/broker-options';
import { SQS_TRANSPORT_OPTION_KEYS } from '../broker/sqs/sqs-transport-options';
import { CELERY_MODULE_OPTION_KEYS } from './celery-module-options';
import { EMBEDDED_BACKEND_OPTION_KEYS, POSTGRES_BACKEND_OPTION_KEYS, REDIS_BACKEND_OPTION_KEYS } from '../backend/backend-options';
import { SECURITY_OPTION_KEYS } from '../security/security-options';
import { WORKER_OPTION_KEYS, WorkerModuleOptions } from '../worker/worker-module-options';
import { METRICS_OPTION_KEYS } from '../metrics/celery-metrics-options';
import { OUTBOX_OPTION_KEYS } from '../outbox/outbox-options';
import { BEAT_ENTRY_KEYS, BEAT_OPTION_KEYS, beatTimeZone } from '../beat/beat-options';
import { codeScheduleRow } from '../beat/store/code-schedule-rows';
import { DEFAULT_SCHEDULE_RULES, SCHEDULE_RULES } from '../beat/schedules/schedule-rules';
import { isKnownTimeZone } from '../beat/schedules/wall-clock';
import { InvalidScheduleError } from '../errors/invalid-schedule.error';
import { TRACING_OPTION_KEYS } from '../tracing/tracing-options';
import { unknownKeyProblems } from '../utils/option-keys';
import { InvalidCeleryOptionsError } from '../errors/invalid-celery-options.error';
import type { CeleryModuleOptions } from './celery-module-options';
import { SECURITY_DIGESTS, SIGNATURE_FORMATS } from '../protocol/auth-serializer';
import { maskUrl } from '../utils/mask-secrets';

/**
 * Checks CeleryModule options at start-up and throws one InvalidCeleryOptionsError naming every
 * bad option, its value (secrets masked) and what is expected: a missing broker, a key that is not
 * an option anywhere in the tree (with the nearest known one), a value of the wrong kind. URL
 * schemes are checked where they are decided, by createBroker() and createResultBackend(), which
 * fail just as early.
 */
export function validateCeleryOptions(options: CeleryModuleOptions | undefined | null): CeleryModuleOptions {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InvalidCeleryOptionsError([`options must be an object such as { broker: 'amqp://guest:guest@localhost:5672//' }, got ${describe(options)}`]);
  }
  const problems: string[] = unknownKeyProblems(options, CELERY_MODULE_OPTION_KEYS, '');

  const broker = options.broker;
  if (broker === undefined || broker === '' || broker === null) {
    // An unset environment variable must not quietly become the in-process broker: tasks would go nowhere.
    problems.push(
      `broker is not set${broker === '' ? ' (it is an empty string: an unset environment variable such as CELERY_BROKER_URL?)' : ''}: ` +
        "give Celery's broker_url, e.g. broker: 'amqp://guest:guest@localhost:5672//' or 'redis://localhost:6379/0', " +
        "or broker: 'memory://' for the in-process broker (tests, demos)",
    );
  } else {
    const isList = Array.isArray(broker);
    const url = typeof broker === 'string' || isList ? broker : (broker as BrokerOptions | null)?.url;
    const name = typeof broker === 'string' || isList ? 'broker' : 'broker.url';
    checkBrokerUrls(problems, name, url);
    if (typeof broker === 'object' && broker !== null && !isList) {
      const options = broker as BrokerOptions;
      if (options.failoverStrategy !== undefined && !FAILOVER_STRATEGIES.includes(options.failoverStrategy)) {
        problems.push(`broker.failoverStrategy must be 'round-robin' or 'shuffle' (Celery: broker_failover_strategy), got ${describe(options.failoverStrategy)}`);
      }
      problems.push(...unknownKeyProblems(options, BROKER_OPTION_KEYS, 'broker'));
      if (options.sqs !== undefined) {
        if (typeof options.sqs !== 'object' || options.sqs === null) problems.push(`broker.sqs must be an object of SQS transport options (Celery: broker_transport_options), got ${describe(options.sqs)}`);
        else problems.push(...unknownKeyProblems(options.sqs, SQS_TRANSPORT_OPTION_KEYS, 'broker.sqs'));
      }
      for (const key of ['heartbeatSeconds', 'reconnectDelayMs', 'maxReconnectDelayMs', 'publishTimeoutMs', 'connectTimeoutMs', 'closeTimeoutMs', 'visibilityTimeoutSeconds'] as const) {
        checkPositive(problems, `broker.${key}`, options[key], true);
      }
    }
  }

  const backend = options.backend;
  if (typeof backend === 'string') checkUrl(problems, 'backend', backend);
  else if (backend !== undefined && backend !== false) {
    if (typeof backend !== 'object' || backend === null || (backend.type !== 'postgres' && backend.type !== 'embedded' && backend.type !== 'redis')) {
      problems.push(`backend must be a URL, false, { type: 'postgres', … }, { type: 'embedded', … } or { type: 'redis', url }, got ${describe(backend)}`);
    } else {
      const backendKeys = backend.type === 'postgres' ? POSTGRES_BACKEND_OPTION_KEYS : backend.type === 'redis' ? REDIS_BACKEND_OPTION_KEYS : EMBEDDED_BACKEND_OPTION_KEYS;
      problems.push(...unknownKeyProblems(backend, backendKeys, 'backend'));
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
  } else if (options.queues !== undefined) {
    for (const [name, queue] of Object.entries(options.queues)) {
      if (typeof queue !== 'object' || queue === null || Array.isArray(queue)) problems.push(`queues.${name} must be an object of queue options such as { maxPriority: 10 }, got ${describe(queue)}`);
      else problems.push(...unknownKeyProblems(queue, CELERY_QUEUE_OPTION_KEYS, `queues.${name}`));
    }
  }

  const routes = options.taskRoutes;
  if (routes !== undefined) {
    const entries = Array.isArray(routes) ? routes : [routes];
    if (!entries.every((entry) => typeof entry === 'function' || (typeof entry === 'object' && entry !== null && !Array.isArray(entry)))) {
      problems.push(`taskRoutes must be an object of task name or glob → queue name or route, a router function, or a list of those, got ${describe(routes)}`);
    } else {
      for (const entry of entries) {
        if (typeof entry === 'function') continue;
        for (const [pattern, route] of Object.entries(entry)) {
          if (typeof route === 'object' && route !== null) problems.push(...unknownKeyProblems(route, ROUTE_KEYS, `taskRoutes['${pattern}']`));
        }
      }
    }
  }

  if (options.sendSentEvent !== undefined && typeof options.sendSentEvent !== 'boolean') {
    problems.push(`sendSentEvent must be true or false, got ${describe(options.sendSentEvent)}`);
  }

  const worker = options.worker;
  if (worker !== undefined && worker !== false) {
    if (typeof worker !== 'object' || worker === null) problems.push(`worker must be an object or false, got ${describe(worker)}`);
    else {
      problems.push(...unknownKeyProblems(worker, WORKER_OPTION_KEYS, 'worker'));
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
      checkPoolOptions(problems, worker);
      for (const key of ['acksLate', 'rejectOnWorkerLost', 'trackStarted', 'ignoreResult', 'autoStart', 'exitOnRemoteShutdown', 'mingle', 'sendTaskEvents', 'logTasks', 'poolRestarts'] as const) {
        if (worker[key] !== undefined && typeof worker[key] !== 'boolean') problems.push(`worker.${key} must be true or false, got ${describe(worker[key])}`);
      }
    }
  }
  const metrics = options.metrics;
  if (metrics !== undefined && typeof metrics !== 'boolean') {
    if (typeof metrics !== 'object' || metrics === null) problems.push(`metrics must be true, false or { registry?, prefix? }, got ${describe(metrics)}`);
    else {
      problems.push(...unknownKeyProblems(metrics, METRICS_OPTION_KEYS, 'metrics'));
      if (metrics.prefix !== undefined && (typeof metrics.prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(metrics.prefix))) {
        problems.push(`metrics.prefix must be a Prometheus name prefix such as 'celery_' (letters, digits, _ and :), got ${describe(metrics.prefix)}`);
      }
    }
  }
  const alerts = options.alerts;
  if (alerts !== undefined && alerts !== false) {
    if (typeof alerts !== 'object' || alerts === null) problems.push(`alerts must be false or an object of alert rules, got ${describe(alerts)}`);
    else problems.push(...unknownKeyProblems(alerts, ALERT_OPTION_KEYS, 'alerts'), ...alertOptionProblems(alerts));
  }
  checkSecurity(problems, options.security);
  if (options.outbox !== undefined) checkOutbox(problems, options.outbox);
  if (options.beat !== undefined && options.beat !== false) checkBeat(problems, options.beat);
  checkTracing(problems, options.tracing);
  if (options.taskDefaultQueueType !== undefined && options.taskDefaultQueueType !== 'classic' && options.taskDefaultQueueType !== 'quorum') {
    problems.push(`taskDefaultQueueType must be 'classic' or 'quorum' (Celery: task_default_queue_type), got ${describe(options.taskDefaultQueueType)}`);
  }
  if (problems.length > 0) throw new InvalidCeleryOptionsError(problems);
  return options;
}

/** The shape of `security`; loadMessageSecurity() then checks the keys and certificates themselves. */
function checkSecurity(problems: string[], security: CeleryModuleOptions['security']): void {
  if (security === undefined) return;
  if (typeof security !== 'object' || security === null || Array.isArray(security)) {
    problems.push(`security must be { key?, certificate?, certStore?, digest?, signatureFormat?, required? }, got ${describe(security)}`);
    return;
  }
  problems.push(...unknownKeyProblems(security, SECURITY_OPTION_KEYS, 'security'));
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
  if (security.signatureFormat !== undefined && !(SIGNATURE_FORMATS as readonly unknown[]).includes(security.signatureFormat)) {
    problems.push(`security.signatureFormat must be '5.4' (what Celery up to 5.4 reads) or '5.5' (what Celery 5.5 and later read), got ${describe(security.signatureFormat)}`);
  }
  if (security.required !== undefined && typeof security.required !== 'boolean') problems.push(`security.required must be true or false, got ${describe(security.required)}`);
}

/** The transactional outbox: a database to relay from (and create the table in) unless both are off. */
function checkOutbox(problems: string[], outbox: NonNullable<CeleryModuleOptions['outbox']>): void {
  if (typeof outbox !== 'object' || outbox === null) {
    problems.push(`outbox must be an object such as { dataSource } or { url }, got ${describe(outbox)}`);
    return;
  }
  problems.push(...unknownKeyProblems(outbox, OUTBOX_OPTION_KEYS, 'outbox'));
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

/** The beat: its database, time zone, and every schedule of `beat.schedule` compiled as the beat will. */
function checkBeat(problems: string[], beat: NonNullable<CeleryModuleOptions['beat']>): void {
  if (typeof beat !== 'object' || beat === null || Array.isArray(beat)) {
    problems.push(`beat must be false or an object such as { schedule: { 'cleanup': { task: 'tasks.cleanup', schedule: 3600 } } }, got ${describe(beat)}`);
    return;
  }
  problems.push(...unknownKeyProblems(beat, BEAT_OPTION_KEYS, 'beat'));
  if (beat.url !== undefined) checkUrl(problems, 'beat.url', beat.url);
  if (beat.url !== undefined && beat.dataSource !== undefined) problems.push('beat takes a url or a dataSource, not both');
  if (beat.scheduler !== undefined && beat.scheduler !== 'default' && beat.scheduler !== 'django') {
    problems.push(`beat.scheduler must be 'default' (the code's schedules) or 'django' (every row of django-celery-beat's tables), got ${describe(beat.scheduler)}`);
  }
  if (beat.timezone !== undefined && (typeof beat.timezone !== 'string' || !isKnownTimeZone(beat.timezone))) {
    problems.push(`beat.timezone must be an IANA time zone such as 'Europe/Paris' or 'UTC' (Celery: timezone), got ${describe(beat.timezone)}`);
  }
  if (beat.scheduleRules !== undefined && !SCHEDULE_RULES.includes(beat.scheduleRules)) {
    problems.push(`beat.scheduleRules must be ${SCHEDULE_RULES.map((rules) => `'${rules}'`).join(' or ')} (the Celery whose DST arithmetic schedules follow), got ${describe(beat.scheduleRules)}`);
  }
  for (const key of ['enableUtc', 'migrationsRun'] as const) {
    if (beat[key] !== undefined && typeof beat[key] !== 'boolean') problems.push(`beat.${key} must be true or false, got ${describe(beat[key])}`);
  }
  checkPositive(problems, 'beat.maxIntervalMs', beat.maxIntervalMs, true);
  const schedule = beat.schedule;
  if (schedule === undefined) return;
  if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
    problems.push(`beat.schedule must be an object of schedule name → { task, schedule, args?, kwargs?, options? } (Celery: beat_schedule), got ${describe(schedule)}`);
    return;
  }
  const zone = typeof beat.timezone === 'string' && isKnownTimeZone(beat.timezone) ? beat.timezone : beatTimeZone({ enableUtc: beat.enableUtc });
  const rules = beat.scheduleRules !== undefined && SCHEDULE_RULES.includes(beat.scheduleRules) ? beat.scheduleRules : DEFAULT_SCHEDULE_RULES;
  for (const [name, entry] of Object.entries(schedule)) {
    if (typeof entry === 'object' && entry !== null) problems.push(...unknownKeyProblems(entry, BEAT_ENTRY_KEYS, `beat.schedule['${name}']`));
    try {
      codeScheduleRow(name, entry, zone, rules);
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      problems.push(error.message);
    }
  }
}

/** A broker URL, a `;` failover list of them, or an array: each entry a URL (later `;` entries may be a host only, as kombu reads them). */
function checkBrokerUrls(problems: string[], name: string, url: unknown): void {
  if (Array.isArray(url)) {
    if (url.length === 0) problems.push(`${name} is an empty list: give at least one broker URL`);
    url.forEach((entry, index) => {
      if (index === 0) checkUrl(problems, `${name}[0]`, entry);
      else if (typeof entry !== 'string' || entry.trim() === '') problems.push(`${name}[${index}] must be a broker URL or a host[:port], got ${describe(entry)}`);
    });
    return;
  }
  checkUrl(problems, name, typeof url === 'string' ? url.split(';')[0].trim() : url);
}

function checkUrl(problems: string[], name: string, url: unknown): void {
  if (typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    problems.push(`${name} must be a URL such as amqp://user:password@host:5672// or postgresql://user@host/db, got ${describe(url)}`);
  }
}

/** The process pool's options (docs/PROCESS-POOL.md): Celery's worker_pool, worker_max_tasks_per_child, worker_max_memory_per_child, --autoscale. */
function checkPoolOptions(problems: string[], worker: WorkerModuleOptions): void {
  if (worker.pool !== undefined && worker.pool !== 'inline' && worker.pool !== 'process') {
    problems.push(`worker.pool must be 'inline' (tasks on the worker's event loop) or 'process' (child processes, Celery's prefork), got ${describe(worker.pool)}`);
  }
  checkInteger(problems, 'worker.maxTasksPerChild', worker.maxTasksPerChild);
  checkInteger(problems, 'worker.maxMemoryPerChild', worker.maxMemoryPerChild);
  const autoscale = worker.autoscale as unknown;
  if (autoscale !== undefined) {
    const { max, min } = (autoscale ?? {}) as { max?: unknown; min?: unknown };
    if (typeof autoscale !== 'object' || autoscale === null || !Number.isInteger(max) || !Number.isInteger(min) || (min as number) < 1 || (max as number) < (min as number)) {
      problems.push(`worker.autoscale must be { max, min } with whole numbers 1 ≤ min ≤ max (Celery: --autoscale=max,min), got ${describe(autoscale)}`);
    }
  }
  const poolModule = worker.poolModule as unknown;
  if (poolModule !== undefined) {
    const { path, export: exported } = (poolModule ?? {}) as { path?: unknown; export?: unknown };
    if (typeof poolModule !== 'object' || poolModule === null || typeof path !== 'string' || path.trim() === '' || (exported !== undefined && (typeof exported !== 'string' || exported === ''))) {
      problems.push(`worker.poolModule must be { path: 'dist/worker.module.js', export?: 'WorkerModule' }, the compiled module a pool child creates, got ${describe(poolModule)}`);
    }
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

/** `tracing`: a switch, or `{ tracerProvider }` with a provider that can hand out tracers. */
function checkTracing(problems: string[], tracing: CeleryModuleOptions['tracing']): void {
  if (tracing === undefined || typeof tracing === 'boolean') return;
  if (typeof tracing !== 'object' || tracing === null) {
    problems.push(`tracing must be true, false or { tracerProvider }, got ${describe(tracing)}`);
    return;
  }
  problems.push(...unknownKeyProblems(tracing, TRACING_OPTION_KEYS, 'tracing'));
  const provider = tracing.tracerProvider as { getTracer?: unknown } | undefined;
  if (provider !== undefined && typeof provider?.getTracer !== 'function') {
    problems.push(`tracing.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer()), got ${describe(provider)}`);
  }
}

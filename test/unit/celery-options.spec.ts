import { createResultBackend } from '../../lib/backend/create-result-backend';
import { createBroker } from '../../lib/broker/create-broker';
import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import { problemsOf } from '../support/option-problems';


describe('CeleryModule options', () => {
  it('names every bad option with what was expected', () => {
    const problems = problemsOf({
      broker: 'localhost:5672',
      backend: { type: 'postgres' },
      worker: { concurrency: 0, queues: [], acksLate: 'yes' },
    });
    expect(problems).toEqual([
      'broker must be a URL such as amqp://user:password@host:5672// or postgresql://user@host/db, got "localhost:5672"',
      "backend of type 'postgres' needs a url or a dataSource",
      'worker.queues must be a non-empty array of queue names, got an empty array',
      'worker.concurrency must be a positive integer, got 0',
      'worker.acksLate must be true or false, got "yes"',
    ]);
  });

  it('never shows a password in an error', () => {
    const problems = problemsOf({ backend: { type: 'postgres', url: 'root:s3cret@db/app' } });
    expect(problems).toEqual([expect.stringContaining('got "root:***@db/app"')]);
  });

  it('leaves the scheme to the factories, which name what is supported without the password', () => {
    expect(() => createBroker('kafka://user:hunter2@host')).toThrow(/kafka.*amqp/s);
    expect(() => createBroker('kafka://user:hunter2@host')).not.toThrow(/hunter2/);
    expect(() => createResultBackend({ url: 'mysql://root:s3cret@db/app' })).toThrow(/mysql/);
    expect(() => createResultBackend({ url: 'mysql://root:s3cret@db/app' })).not.toThrow(/s3cret/);
  });

  it('accepts Celery URL forms', () => {
    expect(problemsOf({ broker: 'amqp://guest:guest@localhost:5672//', backend: 'db+postgresql://root@localhost/test' })).toEqual([]);
    expect(problemsOf({ broker: { url: 'amqps://host', publishTimeoutMs: 5000 }, backend: false, worker: false })).toEqual([]);
  });

  it('accepts Redis for both, with a visibility timeout and result options, and checks them', () => {
    expect(problemsOf({ broker: { url: 'redis://:pw@localhost:6379/0', visibilityTimeoutSeconds: 7200 }, backend: { type: 'redis', url: 'rediss://:pw@host/1', resultExpiresSeconds: 60 } })).toEqual([]);
    expect(problemsOf({ broker: { url: 'redis://localhost/0', visibilityTimeoutSeconds: 0 }, backend: { type: 'redis' } })).toEqual([
      'broker.visibilityTimeoutSeconds must be a positive number, got 0',
      'backend.url must be a URL such as amqp://user:password@host:5672// or postgresql://user@host/db, got undefined',
    ]);
    expect(resolveCeleryConfig({ broker: 'redis://h/0', backend: { type: 'redis', url: 'redis://h/0', resultExpiresSeconds: 60 } }).backend).toEqual({ url: 'redis://h/0', resultExpiresSeconds: 60 });
  });

  it('has no result backend unless one is configured, as Celery (DisabledBackend)', () => {
    expect(resolveCeleryConfig({ broker: 'memory://' }).backend).toBeNull();
    expect(resolveCeleryConfig({ broker: 'amqp://localhost' }).backend).toBeNull();
    expect(resolveCeleryConfig({ broker: 'amqp://localhost', backend: 'postgresql://root@localhost/test' }).backend).toEqual({
      url: 'postgresql://root@localhost/test',
    });
  });

  it('applies worker defaults and keeps explicit values', () => {
    const worker = resolveCeleryConfig({ broker: 'memory://', defaultQueue: 'jobs', worker: { concurrency: 4 } }).worker!;
    expect(worker).toMatchObject({ queues: ['jobs'], concurrency: 4, prefetchMultiplier: 4, acksLate: false, autoStart: true });
    expect(resolveCeleryConfig({ broker: 'memory://', worker: false }).worker).toBeNull();
  });

  it('parks far-ETA tasks after 60 s in quorum delay queues by default, and checks both settings', () => {
    expect(resolveCeleryConfig({ broker: 'memory://' }).worker).toMatchObject({ etaParkThresholdSeconds: 60, delayedDeliveryQueueType: 'classic' });
    expect(resolveCeleryConfig({ broker: 'memory://', worker: { etaParkThresholdSeconds: 0, delayedDeliveryQueueType: 'quorum' } }).worker).toMatchObject({
      etaParkThresholdSeconds: 0,
      delayedDeliveryQueueType: 'quorum',
    });
    expect(problemsOf({ worker: { etaParkThresholdSeconds: -1, delayedDeliveryQueueType: 'stream' } })).toEqual([
      'worker.etaParkThresholdSeconds must be a non-negative number, got -1',
      "worker.delayedDeliveryQueueType must be 'quorum' or 'classic' (Celery: broker_native_delayed_delivery_queue_type), got \"stream\"",
    ]);
  });

  it("sends no task events and no task-sent by default, a heartbeat every 2 s, as Celery; the events settings stay out of the worker's", () => {
    expect(resolveCeleryConfig({ broker: 'memory://' }).events).toEqual({ sendTaskEvents: false, heartbeatIntervalSeconds: 2, sendSentEvent: false });
    const config = resolveCeleryConfig({ broker: 'memory://', sendSentEvent: true, worker: { sendTaskEvents: true, heartbeatIntervalSeconds: 5 } });
    expect(config.events).toEqual({ sendTaskEvents: true, heartbeatIntervalSeconds: 5, sendSentEvent: true });
    expect(config.worker).not.toHaveProperty('sendTaskEvents');
    expect(config.worker).not.toHaveProperty('heartbeatIntervalSeconds');
    expect(problemsOf({ sendSentEvent: 'yes' as never, worker: { sendTaskEvents: 1 as never, heartbeatIntervalSeconds: 0 } })).toEqual([
      'sendSentEvent must be true or false, got "yes"',
      'worker.heartbeatIntervalSeconds must be a positive number, got 0',
      'worker.sendTaskEvents must be true or false, got 1',
    ]);
  });

  it('refuses a missing broker at start-up instead of running on the in-process one (an unset CELERY_BROKER_URL)', () => {
    expect(problemsOf({ broker: undefined, backend: 'postgresql://root@localhost/test' })).toEqual([expect.stringMatching(/^broker is not set: .*broker: 'memory:\/\/' for the in-process broker/)]);
    expect(problemsOf({ broker: '' })).toEqual([expect.stringContaining('an unset environment variable such as CELERY_BROKER_URL')]);
    expect(problemsOf({ broker: 'memory://' })).toEqual([]);
  });

  it('refuses keys that are not options anywhere in the tree, naming the nearest known one', () => {
    expect(
      problemsOf({
        brokerUrl: 'amqp://localhost',
        broker: { url: 'amqp://localhost', heartbeat: 30 },
        backend: { type: 'postgres', url: 'postgresql://db/app', resultExpires: 60 },
        worker: { concurency: 4 },
        queues: { urgent: { maxPriorty: 10 } },
        taskRoutes: { 'images.*': { queu: 'media' } },
        metrics: { prefx: 'x_' },
        alerts: { failureRate: { threshold: 0.5, window: 60 }, webhook: 'https://example.com' },
        security: { certifcate: 'x' },
        outbox: { url: 'postgresql://db/app', pollInterval: 5 },
        tracing: { tracerProvder: {} } as never,
      }),
    ).toEqual([
      'brokerUrl is not an option: did you mean broker?',
      'broker.heartbeat is not an option: did you mean broker.heartbeatSeconds?',
      'backend.resultExpires is not an option: did you mean backend.resultExpiresSeconds?',
      'queues.urgent.maxPriorty is not an option: did you mean queues.urgent.maxPriority?',
      "taskRoutes['images.*'].queu is not an option: did you mean taskRoutes['images.*'].queue?",
      'worker.concurency is not an option: did you mean worker.concurrency?',
      'metrics.prefx is not an option: did you mean metrics.prefix?',
      'alerts.webhook is not an option: did you mean alerts.webhookUrl?',
      'alerts.failureRate.window is not an option: did you mean alerts.failureRate.windowSeconds?',
      'security.certifcate is not an option: did you mean security.certificate?',
      'outbox.pollInterval is not an option: did you mean outbox.pollIntervalMs?',
      'tracing.tracerProvder is not an option: did you mean tracing.tracerProvider?',
    ]);
    expect(problemsOf({ worker: { zzz: 1 } })).toEqual([expect.stringMatching(/^worker\.zzz is not an option: known options: queues, concurrency, /)]);
  });

  it('takes tracing as a switch or a TracerProvider, and says what a provider must be', () => {
    expect(problemsOf({ tracing: true })).toEqual([]);
    expect(problemsOf({ tracing: { tracerProvider: { getTracer: () => ({}) } } })).toEqual([]);
    expect(problemsOf({ tracing: 'yes' as never })).toEqual(["tracing must be true, false or { tracerProvider }, got \"yes\""]);
    expect(problemsOf({ tracing: { tracerProvider: {} as never } })).toEqual([expect.stringMatching(/^tracing\.tracerProvider must be an OpenTelemetry TracerProvider \(with getTracer\(\)\)/)]);
  });
});

import { INestApplicationContext, Injectable, Module } from '@nestjs/common';
import { context as otelContext, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { DataSource } from 'typeorm';
import { CeleryClient, CeleryOutbox, CeleryTask, chain, currentTask } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { OtlpReceiver, ReceivedSpan, SPAN_KIND, STATUS_ERROR } from '../support/otlp-receiver';
import { celeryDatabaseUrl } from '../support/python-celery';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class TracedTasks {
  private flakyCalls = 0;

  @CeleryTask({ name: 'trace.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'trace.fail' })
  fail(): never {
    throw new TypeError('bad input');
  }

  @CeleryTask({ name: 'trace.flaky' })
  flaky(): string {
    if (this.flakyCalls++ === 0) currentTask().retry({ countdown: 0.05, error: new Error('first attempt') });
    return 'done';
  }
}

@Module({ providers: [TracedTasks] })
class TracedTasksModule {}

/**
 * OpenTelemetry tracing as opentelemetry-instrumentation-celery traces Python Celery, exported by
 * the real OTLP/HTTP exporter to a local receiver: producer and consumer spans with its names and
 * attributes, W3C trace context in the message headers both ways with Python Celery, and the
 * context kept across retries, chain steps and the transactional outbox.
 */
describe('tracing with OpenTelemetry', () => {
  let env: TestEnvironment;
  let receiver: OtlpReceiver;
  let provider: NodeTracerProvider;
  let app: INestApplicationContext;
  let client: CeleryClient;
  let dataSource: DataSource;
  let pythonQueue: string;
  let worker: PythonWorker | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-tracing');
    pythonQueue = `${env.queue}-py`;
    env.alsoRemove(pythonQueue);
    receiver = new OtlpReceiver();
    const url = await receiver.start();
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url }))] });
    // The global provider, W3C propagator and AsyncLocalStorage context, as NodeSDK.start() sets them up.
    provider.register();
    dataSource = new DataSource({ type: 'postgres', url: env.databaseUrl });
    await dataSource.initialize();
    app = await startCeleryApp(
      { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: { queues: [env.queue] }, outbox: { dataSource }, tracing: true },
      [],
      [TracedTasksModule],
    );
    client = app.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await dataSource?.destroy();
    await provider?.shutdown();
    trace.disable();
    propagation.disable();
    otelContext.disable();
    await receiver?.stop();
    await env?.dispose();
  });

  const tracer = () => trace.getTracer('test');

  /** Runs `work` under a span standing for an HTTP handler; returns its result and the span's ids. */
  async function inHandler<T>(work: () => Promise<T>): Promise<{ value: T; traceId: string; spanId: string }> {
    return tracer().startActiveSpan('GET /orders', async (span) => {
      try {
        const value = await work();
        return { value, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
      } finally {
        span.end();
      }
    });
  }

  const spanNamed = (name: string, predicate?: (span: ReceivedSpan) => boolean, what = name) =>
    eventually(() => receiver.find(name, predicate), 15_000, `span ${what}`);

  it('sends with an apply_async span under the caller, and runs with a run span under it, named and attributed as Python instruments Celery', async () => {
    const { value: result, traceId, spanId } = await inHandler(() => client.send('trace.add', [2, 3]));
    await expect(result.get({ timeout: 15_000 })).resolves.toBe(5);

    const publish = await spanNamed('apply_async/trace.add', (span) => span.attributes['messaging.message_id'] === result.id);
    expect(publish).toMatchObject({ traceId, parentSpanId: spanId, kind: SPAN_KIND.PRODUCER });
    expect(publish.attributes).toMatchObject({ 'celery.action': 'apply_async', 'celery.task_name': 'trace.add', 'messaging.destination': env.queue, 'messaging.destination_kind': 'queue' });

    const run = await spanNamed('run/trace.add', (span) => span.attributes['messaging.message.id'] === result.id);
    expect(run).toMatchObject({ traceId, parentSpanId: publish.spanId, kind: SPAN_KIND.CONSUMER });
    expect(run.attributes).toMatchObject({
      'celery.action': 'run',
      'celery.task_name': 'trace.add',
      'celery.state': 'SUCCESS',
      'messaging.destination': env.queue,
      'messaging.conversation_id': result.id,
      'celery.hostname': expect.stringMatching(/^gen\d+@/),
    });
    expect(run.attributes['celery.delivery_info']).toContain(`'routing_key': '${env.queue}'`);
    expect(run.status.code).not.toBe(STATUS_ERROR);
  });

  it('records a failure on the run span: status ERROR with the message, and the exception', async () => {
    const result = await client.send('trace.fail');
    await expect(result.get({ timeout: 15_000 })).rejects.toThrow(/bad input/);
    const run = await spanNamed('run/trace.fail', (span) => span.attributes['messaging.message.id'] === result.id);
    expect(run.status).toMatchObject({ code: STATUS_ERROR, message: 'bad input' });
    expect(run.attributes['celery.state']).toBe('FAILURE');
    expect(run.events).toContainEqual(expect.objectContaining({ name: 'exception', attributes: expect.objectContaining({ 'exception.type': 'TypeError', 'exception.message': 'bad input' }) }));
  });

  it('keeps the trace across a retry: the retry is published under the first run, and runs under that publish', async () => {
    const { value: result, traceId } = await inHandler(() => client.send('trace.flaky'));
    await expect(result.get({ timeout: 15_000 })).resolves.toBe('done');
    const ofTask = (span: ReceivedSpan) => span.attributes['messaging.message.id'] === result.id;
    const first = await spanNamed('run/trace.flaky', (span) => ofTask(span) && span.attributes['celery.state'] === 'RETRY', 'first run');
    const second = await spanNamed('run/trace.flaky', (span) => ofTask(span) && span.attributes['celery.state'] === 'SUCCESS', 'second run');
    expect(first.traceId).toBe(traceId);
    expect(first.attributes['celery.retry.reason']).toMatch(/^Retry in \d+s: Error: first attempt$/);
    const retryPublish = await spanNamed('apply_async/trace.flaky', (span) => span.parentSpanId === first.spanId, 'the retry publish');
    expect(second).toMatchObject({ traceId, parentSpanId: retryPublish.spanId });
    expect(second.attributes['celery.retries']).toBe(1);
  });

  it('keeps the trace along a chain: the next step is published under the step before', async () => {
    const { value: result, traceId } = await inHandler(() => chain(client.signature('trace.add', [1, 2]), client.signature('trace.add', [10])).applyAsync());
    await expect(result.get({ timeout: 15_000 })).resolves.toBe(13);
    const last = await spanNamed('run/trace.add', (span) => span.attributes['messaging.message.id'] === result.id, 'the last step');
    // Spans are exported as they end, and the first step's run ends after the next step ran may have: wait for each.
    const lastPublish = await spanNamed('apply_async/trace.add', (span) => span.spanId === last.parentSpanId, 'the last step\'s publish');
    const firstRun = await spanNamed('run/trace.add', (span) => span.spanId === lastPublish.parentSpanId, 'the first step\'s run');
    expect(firstRun).toMatchObject({ traceId, kind: SPAN_KIND.CONSUMER });
    expect(last.traceId).toBe(traceId);
  });

  it('relays an outbox message under the context of the transaction that enqueued it', async () => {
    const outbox = app.get(CeleryOutbox);
    const { value: result, spanId, traceId } = await inHandler(() => dataSource.transaction((manager) => outbox.enqueue(manager, 'trace.add', [20, 22])));
    await expect(result.get({ timeout: 15_000 })).resolves.toBe(42);
    const publish = await spanNamed('apply_async/trace.add', (span) => span.attributes['messaging.message_id'] === result.id);
    expect(publish).toMatchObject({ traceId, parentSpanId: spanId });
    const run = await spanNamed('run/trace.add', (span) => span.attributes['messaging.message.id'] === result.id);
    expect(run).toMatchObject({ traceId, parentSpanId: publish.spanId });
  });

  it('runs a task from a Python producer that injects trace context as opentelemetry-instrumentation-celery does, as a child of its span', async () => {
    // Debian has no Python OpenTelemetry: this stand-in does what the instrumentation's
    // _trace_before_publish does with the W3C propagator: inject(headers) into the message headers.
    const sent = await runInteropClient<{ id: string; traceId: string; spanId: string; value: number }>(
      `
import json, secrets
from celery import signals
from interop_tasks import app
ids = {"traceId": secrets.token_hex(16), "spanId": secrets.token_hex(8)}

@signals.before_task_publish.connect
def inject(headers=None, **_):
    headers["traceparent"] = "00-%s-%s-01" % (ids["traceId"], ids["spanId"])

result = app.send_task("trace.add", (4, 5))
print(json.dumps({"id": result.id, "value": result.get(timeout=30), **ids}))
`,
      { resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: env.queue },
    );
    expect(sent.value).toBe(9);
    const run = await spanNamed('run/trace.add', (span) => span.attributes['messaging.message.id'] === sent.id);
    expect(run).toMatchObject({ traceId: sent.traceId, parentSpanId: sent.spanId, kind: SPAN_KIND.CONSUMER });
  });

  it('carries our producer span to a Python worker, where the instrumentation would read it from the request', async () => {
    worker = await startPythonWorker({ queues: [pythonQueue], resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: env.queue });
    const { value: result, traceId } = await inHandler(() => client.send('py.traceparent', [], { queue: pythonQueue }));
    const received = await result.get({ timeout: 30_000 });
    const publish = await spanNamed('apply_async/py.traceparent', (span) => span.attributes['messaging.message_id'] === result.id);
    expect(received).toBe(`00-${traceId}-${publish.spanId}-01`);
  });
});

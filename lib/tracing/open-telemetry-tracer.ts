import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { TaskMessage } from '../protocol/task-message';
import { loadOptionalPackage } from '../utils/optional-package';
import { publishAttributes, publishSpanName, runAttributes, runSpanName, CeleryAttributes } from './celery-span-attributes';
import type { PublishDestination, PublishTrace, RunDelivery, RunEnd, RunTrace, TaskTracer } from './task-tracer';
import type { TracingOptions } from './tracing-options';

/** What needs @opentelemetry/api, for the error when it is not installed. */
const TRACING = 'Tracing (the tracing option)';

type Api = typeof OpenTelemetryApi;
type Span = OpenTelemetryApi.Span;

/**
 * Message headers as a propagation carrier: W3C trace context travels as plain message headers
 * (`traceparent`, `tracestate`), as Python's instrumentation injects them into Celery's headers.
 * AMQP may hand a long string back as bytes.
 */
const HEADER_GETTER: OpenTelemetryApi.TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return undefined;
  },
};

/**
 * TaskTracer on OpenTelemetry's API: spans go to whatever TracerProvider the app set up (the
 * global one, or the one given), context crosses processes through the global propagator (W3C
 * trace context by default). Loaded only when `tracing` is configured: @opentelemetry/api is an
 * optional peer.
 */
export class OpenTelemetryTaskTracer implements TaskTracer {
  readonly enabled = true;
  private readonly api: Api;
  private readonly tracer: OpenTelemetryApi.Tracer;

  constructor(options: TracingOptions) {
    this.api = loadOptionalPackage<Api>('@opentelemetry/api', TRACING);
    const provider = (options.tracerProvider as OpenTelemetryApi.TracerProvider | undefined) ?? this.api.trace.getTracerProvider();
    this.tracer = provider.getTracer('nestjs-celery');
  }

  startPublish(message: TaskMessage, destination: PublishDestination): PublishTrace {
    const { api } = this;
    const span = this.tracer.startSpan(publishSpanName(message), { kind: api.SpanKind.PRODUCER, attributes: publishAttributes(message, destination) });
    const headers: Record<string, string> = {};
    api.propagation.inject(api.trace.setSpan(api.context.active(), span), headers);
    return {
      headers,
      end: (error) => {
        if (error !== undefined) this.recordFailure(span, error);
        span.end();
      },
    };
  }

  startRun(message: TaskMessage, delivery: RunDelivery): RunTrace {
    const { api } = this;
    const parent = api.propagation.extract(api.context.active(), message.customHeaders, HEADER_GETTER);
    const span = this.tracer.startSpan(runSpanName(message), { kind: api.SpanKind.CONSUMER, attributes: runAttributes(message, delivery) }, parent);
    const current = api.trace.setSpan(parent, span);
    return {
      within: (work) => api.context.with(current, work),
      end: (outcome: RunEnd) => {
        span.setAttribute(CeleryAttributes.state, outcome.state);
        if (outcome.retryReason !== undefined) span.setAttribute(CeleryAttributes.retryReason, outcome.retryReason);
        if (outcome.state === 'FAILURE') this.recordFailure(span, outcome.error);
        span.end();
      },
    };
  }

  /** As `_trace_failure`: the exception recorded on the span, its status ERROR with the message (Python's `str(exc)`). */
  private recordFailure(span: Span, error: unknown): void {
    const exception = error instanceof Error ? error : new Error(String(error));
    span.recordException(exception);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: exception.message });
  }
}

import type { TaskMessage } from '../protocol/task-message';

/** Where a task message is published: what the producer span names as its destination. */
export interface PublishDestination {
  readonly exchange: string;
  readonly routingKey: string;
  /** The exchange's type when known ('direct' for the default exchange): Celery's `declare` kind. */
  readonly exchangeType?: string;
}

/** The producer span of one publish (`apply_async/<task>`), started before the message is encoded. */
export interface PublishTrace {
  /** Headers that carry the span's context to the consumer (W3C `traceparent`, `tracestate`): merged into the message's headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Ends the span once the broker took the message (or the outbox stored it); with an error, marks it failed. */
  end(error?: unknown): void;
}

/** How a run ended, for the consumer span: Celery's final state, and the error of a failure or the cause of a retry. */
export type RunEnd = { readonly state: string; readonly error?: unknown; readonly retryReason?: string };

/** The consumer span of one run (`run/<task>`), child of the context the message carried. */
export interface RunTrace {
  /** Runs `work` with the span current, so what the task does and sends (retries, chain steps, callbacks) is its child. */
  within<T>(work: () => T): T;
  end(outcome: RunEnd): void;
}

/** What the worker knows of a delivery when the run starts. */
export interface RunDelivery {
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  /** The node running it: `celery.hostname` when the message names no origin. */
  readonly hostname: string;
}

/**
 * Distributed tracing of task messages, as opentelemetry-instrumentation-celery traces Python
 * Celery: a producer span per publish whose context travels in the message headers, a consumer
 * span per run under it. One interface so the client and the worker never test whether tracing
 * is on: NO_TRACING does nothing.
 */
export interface TaskTracer {
  readonly enabled: boolean;
  startPublish(message: TaskMessage, destination: PublishDestination): PublishTrace;
  startRun(message: TaskMessage, delivery: RunDelivery): RunTrace;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_PUBLISH_TRACE: PublishTrace = { headers: NO_HEADERS, end: () => undefined };
const NO_RUN_TRACE: RunTrace = { within: (work) => work(), end: () => undefined };

/** Tracing off: nothing is recorded, no header is added, and it costs nothing per task. */
export const NO_TRACING: TaskTracer = {
  enabled: false,
  startPublish: () => NO_PUBLISH_TRACE,
  startRun: () => NO_RUN_TRACE,
};

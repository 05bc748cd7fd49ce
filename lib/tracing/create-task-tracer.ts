import { OpenTelemetryTaskTracer } from './open-telemetry-tracer';
import { NO_TRACING, TaskTracer } from './task-tracer';
import type { ResolvedTracingOptions } from './tracing-options';

/** The tracer for the resolved `tracing` option: OpenTelemetry when configured (loading @opentelemetry/api, or failing at start-up), otherwise none. */
export function createTaskTracer(options: ResolvedTracingOptions): TaskTracer {
  return options ? new OpenTelemetryTaskTracer(options) : NO_TRACING;
}

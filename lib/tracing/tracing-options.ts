/** The part of an OpenTelemetry TracerProvider we use (structural, so these types need no @opentelemetry/api). */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/**
 * `tracing` in the module options: `true` traces with the global TracerProvider and propagator
 * (what `NodeSDK.start()` or `provider.register()` set up), or `{ tracerProvider }` names one.
 * Needs the optional peer `@opentelemetry/api`.
 */
export interface TracingOptions {
  tracerProvider?: TracerProviderLike;
}

export const TRACING_OPTION_KEYS: readonly (keyof TracingOptions)[] = ['tracerProvider'];

/** The tracing settings once resolved; null when tracing is off. */
export type ResolvedTracingOptions = TracingOptions | null;

export function resolveTracingOptions(option: boolean | TracingOptions | undefined): ResolvedTracingOptions {
  if (!option) return null;
  return option === true ? {} : option;
}

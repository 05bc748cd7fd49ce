/**
 * The logging surface the lower layers use; Nest's `Logger` satisfies it, so the module passes
 * one in and nothing below the Nest glue imports Nest.
 */
export interface CeleryLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug?(message: string): void;
}

/** For code paths constructed without a logger (tests, scripts). */
export const SILENT_LOGGER: CeleryLogger = { log() {}, warn() {}, error() {}, debug() {} };

import type { ControlCommand } from '../control-command';

/**
 * Celery commands this worker cannot honour, answered with an error that says why and what to
 * do instead, rather than Python's `KeyError` for a command it has never heard of.
 */
export const UNSUPPORTED_COMMANDS: Record<string, ControlCommand> = {};

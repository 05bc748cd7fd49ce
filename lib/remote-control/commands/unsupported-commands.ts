import { ControlCommand, nok } from '../control-command';

/**
 * Celery commands this worker cannot honour, answered with an error that says why and what to
 * do instead, rather than Python's `KeyError` for a command it has never heard of.
 */
export const UNSUPPORTED_COMMANDS: Record<string, ControlCommand> = {
  pool_grow: () => concurrencyIsFixed('pool_grow'),
  pool_shrink: () => concurrencyIsFixed('pool_shrink'),
  autoscale: () => concurrencyIsFixed('autoscale'),
  pool_restart: () => nok('pool_restart is not supported by nestjs-celery workers: tasks run in the worker process itself; restart the application instead.'),
};

function concurrencyIsFixed(command: string) {
  return nok(`${command} is not supported by nestjs-celery workers: concurrency is fixed at start. Change worker.concurrency and restart the worker.`);
}

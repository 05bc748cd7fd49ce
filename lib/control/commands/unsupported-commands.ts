import { ControlCommand, nok } from '../control-command';

/**
 * Celery commands this worker cannot honour, answered with an error that says why and what to
 * do instead, rather than Python's `KeyError` for a command it has never heard of.
 */
export const UNSUPPORTED_COMMANDS: Record<string, ControlCommand> = {
  add_consumer: (_context, { queue }) =>
    nok(`add_consumer is not supported by nestjs-celery workers: the queues they consume are fixed at start. Add ${describe(queue)} to worker.queues and restart the worker.`),

  cancel_consumer: (_context, { queue }) =>
    nok(`cancel_consumer is not supported by nestjs-celery workers: the queues they consume are fixed at start. Remove ${describe(queue)} from worker.queues and restart the worker.`),

  pool_grow: () => concurrencyIsFixed('pool_grow'),
  pool_shrink: () => concurrencyIsFixed('pool_shrink'),
  autoscale: () => concurrencyIsFixed('autoscale'),
  pool_restart: () => nok('pool_restart is not supported by nestjs-celery workers: tasks run in the worker process itself; restart the application instead.'),
};

function concurrencyIsFixed(command: string) {
  return nok(`${command} is not supported by nestjs-celery workers: concurrency is fixed at start. Change worker.concurrency and restart the worker.`);
}

function describe(queue: unknown): string {
  return typeof queue === 'string' ? `"${queue}"` : 'the queue';
}

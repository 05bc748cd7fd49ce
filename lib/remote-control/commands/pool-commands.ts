import { ControlCommandError } from '../../errors/control-command.error';
import type { ProcessPool } from '../../worker/pool/process-pool';
import { ControlArguments, ControlCommand, ControlContext, nok, ok } from '../control-command';

/**
 * Celery 5.2.6's pool commands (celery/worker/control.py), the ones Flower's pool buttons send:
 * `pool_grow` / `pool_shrink` (N children more or fewer; refused under autoscale, as Celery does),
 * `autoscale` (new max/min; ValueError without autoscale) and `pool_restart` (every child replaced,
 * so code changed on disk is loaded; ValueError unless `poolRestarts`, Celery's
 * `worker_pool_restarts`). They act on the process pool; a worker whose tasks run on its event
 * loop answers why it cannot.
 */
export const POOL_COMMANDS: Record<string, ControlCommand> = {
  pool_grow: (context, args) => {
    const pool = processPoolOf(context, 'pool_grow');
    if (context.worker.taskPools.autoscaler) return nok('pool_grow is not supported with autoscale. Adjust autoscale range instead.');
    pool.grow(countArgument(args, 'n', 1));
    return ok('pool will grow');
  },
  pool_shrink: (context, args) => {
    const pool = processPoolOf(context, 'pool_shrink');
    if (context.worker.taskPools.autoscaler) return nok('pool_shrink is not supported with autoscale. Adjust autoscale range instead.');
    pool.shrink(countArgument(args, 'n', 1));
    return ok('pool will shrink');
  },
  autoscale: (context, args) => {
    const autoscaler = context.worker.taskPools.autoscaler;
    if (!autoscaler) throw new ControlCommandError('ValueError', 'Autoscale not enabled');
    const max = optionalCount(args.max) ?? autoscaler.max;
    const min = optionalCount(args.min) ?? autoscaler.min;
    autoscaler.update({ max, min });
    return ok(`autoscale now max=${autoscaler.max} min=${autoscaler.min}`);
  },
  pool_restart: (context) => {
    const pool = processPoolOf(context, 'pool_restart');
    if (!context.worker.options.poolRestarts) throw new ControlCommandError('ValueError', 'Pool restarts not enabled');
    pool.restart();
    return ok('reload started');
  },
};

function processPoolOf(context: ControlContext, command: string): ProcessPool {
  const pool = context.worker.taskPools.process;
  if (pool) return pool;
  throw new ControlCommandError(
    'ValueError',
    `${command} needs the process pool: this worker runs its tasks on its event loop. Set worker.pool: 'process' (CELERY_WORKER_POOL=process) to run them in child processes`,
  );
}

/** Celery converts `n` with int(); anything but a whole number ≥ 1 is refused as Python's int() would fail. */
function countArgument(args: ControlArguments, name: string, fallback: number): number {
  return optionalCount(args[name]) ?? fallback;
}

function optionalCount(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const count = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new ControlCommandError('ValueError', `expected a whole number of processes ≥ 1, got ${JSON.stringify(value)}`);
  return count;
}

import type { WorkerStats } from '../control/control-replies';
import type { ControlContext } from './control-command';

/**
 * Celery's `stats` reply (`WorkController.stats()`, Fx worker_pidbox_stats): run counts, pid,
 * clock (a string, as Celery sends it), uptime, the pool (one process running `concurrency` tasks
 * at once), the broker without its password, the prefetch window and `getrusage`.
 */
export function workerStats(context: ControlContext): WorkerStats {
  const { worker, clock, brokerInfo } = context;
  const since = worker.runningSince;
  return {
    total: worker.processedTotals(),
    pid: process.pid,
    clock: String(clock.value),
    uptime: since ? Math.round((Date.now() - since.getTime()) / 1000) : 0,
    pool: poolStats(context),
    broker: brokerInfo,
    prefetch_count: worker.prefetchCount,
    rusage: resourceUsage(),
    ...autoscalerStats(context),
  };
}

/**
 * Celery's `pool.info`: with the process pool as prefork reports it (its children's pids, their
 * number as max-concurrency, max-tasks-per-child), so Flower's pool
 * page shows the children; otherwise this one process running `concurrency` tasks at once.
 */
function poolStats(context: ControlContext): WorkerStats['pool'] {
  const { worker } = context;
  const pool = worker.taskPools.process;
  if (!pool) {
    return { 'max-concurrency': worker.options.concurrency, processes: [process.pid], 'max-tasks-per-child': 'N/A', 'put-guarded-by-semaphore': false, timeouts: [0, 0] };
  }
  // timeouts: Celery's worker-wide [soft, hard] task time limits; ours are per task only.
  return { 'max-concurrency': pool.processes, processes: pool.pids, 'max-tasks-per-child': pool.maxTasksPerChild ?? 'N/A', 'put-guarded-by-semaphore': false, timeouts: [0, 0] };
}

/** Celery's `autoscaler` stats entry, beside `pool`, when the worker autoscales. */
function autoscalerStats(context: ControlContext): Pick<WorkerStats, 'autoscaler'> {
  const { worker } = context;
  const autoscaler = worker.taskPools.autoscaler;
  const pool = worker.taskPools.process;
  if (!autoscaler || !pool) return {};
  return { autoscaler: { max: autoscaler.max, min: autoscaler.min, current: pool.processes, qty: worker.activeTasks().length + worker.reservedTasks().length } };
}

/** `resource.getrusage(RUSAGE_SELF)` in Python's field names; times in seconds, maxrss in KiB. */
function resourceUsage(): Record<string, number> {
  const usage = process.resourceUsage();
  return {
    utime: usage.userCPUTime / 1e6,
    stime: usage.systemCPUTime / 1e6,
    maxrss: usage.maxRSS,
    ixrss: usage.sharedMemorySize,
    idrss: usage.unsharedDataSize,
    isrss: usage.unsharedStackSize,
    minflt: usage.minorPageFault,
    majflt: usage.majorPageFault,
    nswap: usage.swappedOut,
    inblock: usage.fsRead,
    oublock: usage.fsWrite,
    msgsnd: usage.ipcSent,
    msgrcv: usage.ipcReceived,
    nsignals: usage.signalsCount,
    nvcsw: usage.voluntaryContextSwitches,
    nivcsw: usage.involuntaryContextSwitches,
  };
}

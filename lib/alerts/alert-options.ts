import { optionKeys, unknownKeyProblems } from '../utils/option-keys';
import type { CeleryAlert } from './celery-alert';

/** A task's failure (Celery's `task-failed` event), optionally only for some task names. */
export interface TaskFailureAlertOptions {
  /** Only these task names (exact); default every task. */
  tasks?: string[];
  /**
   * Seconds between two alerts for the same task name: failures in between are counted and reported
   * with the next alert instead of flooding the receiver. Default 60; 0 alerts on every failure.
   */
  cooldownSeconds?: number;
}

/** The share of failed tasks among finished ones over a sliding window. */
export interface FailureRateAlertOptions {
  /** Fires when failed / finished ≥ this, between 0 and 1 (0.2 = 20%). */
  threshold: number;
  /** The window, seconds. Default 300. */
  windowSeconds?: number;
  /** No alert before this many tasks finished in the window, so one failure out of two does not page. Default 20. */
  minTasks?: number;
}

/** A worker that stopped sending heartbeats without saying goodbye (no worker-offline). */
export interface WorkerSilenceAlertOptions {
  /**
   * Seconds without a heartbeat before the worker counts as gone. Default: Celery's own expiry, twice
   * the worker's heartbeat interval (`celery.events.state.heartbeat_expires`), read from each heartbeat.
   */
  afterSeconds?: number;
}

/** A queue holding more ready messages than it should. */
export interface QueueBacklogAlertOptions {
  /** Queue name → largest healthy number of ready messages. */
  maxDepth: Record<string, number>;
  /** How often the depths are read (a passive declare each), ms. Default 10000. */
  checkIntervalMs?: number;
}

/**
 * Alert rules and where alerts go (`CeleryModule.forRoot({ alerts })`). The task rules need task
 * events from the workers (Celery's `-E` / `worker_send_task_events`), as Flower does; worker and
 * queue rules work without them. Each rule is off unless configured, except `taskFailure`.
 */
export interface CeleryAlertsOptions {
  /** Default: on for every task. `false` turns it off. */
  taskFailure?: boolean | TaskFailureAlertOptions;
  failureRate?: FailureRateAlertOptions;
  /** Default: on with Celery's heartbeat expiry. `false` turns it off. */
  workerSilence?: boolean | WorkerSilenceAlertOptions;
  queueBacklog?: QueueBacklogAlertOptions;
  /** Also POST each alert as JSON to this URL (credentials in it are never logged). */
  webhookUrl?: string;
  /** How long one webhook POST may take, ms. Default 5000; failures are retried twice, then logged. */
  webhookTimeoutMs?: number;
  /** A function to call with each alert, besides the app's `@OnCeleryAlert()` methods. */
  onAlert?: (alert: CeleryAlert) => void | Promise<void>;
}

export const ALERT_OPTION_KEYS = optionKeys<CeleryAlertsOptions>()('taskFailure', 'failureRate', 'workerSilence', 'queueBacklog', 'webhookUrl', 'webhookTimeoutMs', 'onAlert');
const TASK_FAILURE_KEYS = optionKeys<TaskFailureAlertOptions>()('tasks', 'cooldownSeconds');
const FAILURE_RATE_KEYS = optionKeys<FailureRateAlertOptions>()('threshold', 'windowSeconds', 'minTasks');
const WORKER_SILENCE_KEYS = optionKeys<WorkerSilenceAlertOptions>()('afterSeconds');
const QUEUE_BACKLOG_KEYS = optionKeys<QueueBacklogAlertOptions>()('maxDepth', 'checkIntervalMs');

/** The rules as the engine runs them: every default applied, `null` = off. */
export interface AlertRules {
  taskFailure: { tasks: ReadonlySet<string> | null; cooldownMs: number } | null;
  failureRate: { threshold: number; windowMs: number; minTasks: number } | null;
  workerSilence: { afterMs: number | null } | null;
  queueBacklog: { maxDepth: ReadonlyMap<string, number>; checkIntervalMs: number } | null;
}

/** Applies the defaults (the one place they live). */
export function resolveAlertRules(options: CeleryAlertsOptions): AlertRules {
  const taskFailure = options.taskFailure ?? true;
  const workerSilence = options.workerSilence ?? true;
  return {
    taskFailure:
      taskFailure === false
        ? null
        : {
            tasks: taskFailure === true || !taskFailure.tasks ? null : new Set(taskFailure.tasks),
            cooldownMs: ((taskFailure === true ? undefined : taskFailure.cooldownSeconds) ?? 60) * 1000,
          },
    failureRate: options.failureRate
      ? {
          threshold: options.failureRate.threshold,
          windowMs: (options.failureRate.windowSeconds ?? 300) * 1000,
          minTasks: options.failureRate.minTasks ?? 20,
        }
      : null,
    workerSilence:
      workerSilence === false
        ? null
        : { afterMs: workerSilence === true || workerSilence.afterSeconds === undefined ? null : workerSilence.afterSeconds * 1000 },
    queueBacklog: options.queueBacklog
      ? {
          maxDepth: new Map(Object.entries(options.queueBacklog.maxDepth)),
          checkIntervalMs: options.queueBacklog.checkIntervalMs ?? 10_000,
        }
      : null,
  };
}

/** What is wrong with the options, one line each; empty when they are fine. */
export function alertOptionProblems(options: CeleryAlertsOptions): string[] {
  const problems: string[] = [];
  const positive = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;
  const { taskFailure, failureRate, workerSilence, queueBacklog } = options;
  if (typeof taskFailure === 'object' && taskFailure !== null) problems.push(...unknownKeyProblems(taskFailure, TASK_FAILURE_KEYS, 'alerts.taskFailure'));
  if (typeof failureRate === 'object' && failureRate !== null) problems.push(...unknownKeyProblems(failureRate, FAILURE_RATE_KEYS, 'alerts.failureRate'));
  if (typeof workerSilence === 'object' && workerSilence !== null) problems.push(...unknownKeyProblems(workerSilence, WORKER_SILENCE_KEYS, 'alerts.workerSilence'));
  if (typeof queueBacklog === 'object' && queueBacklog !== null) problems.push(...unknownKeyProblems(queueBacklog, QUEUE_BACKLOG_KEYS, 'alerts.queueBacklog'));
  if (typeof taskFailure === 'object') {
    if (taskFailure.cooldownSeconds !== undefined && !(taskFailure.cooldownSeconds === 0 || positive(taskFailure.cooldownSeconds))) {
      problems.push(`alerts.taskFailure.cooldownSeconds must be a number of seconds ≥ 0, got ${String(taskFailure.cooldownSeconds)}`);
    }
    if (taskFailure.tasks !== undefined && (!Array.isArray(taskFailure.tasks) || taskFailure.tasks.some((name) => typeof name !== 'string'))) {
      problems.push('alerts.taskFailure.tasks must be an array of task names');
    }
  }
  if (failureRate) {
    const { threshold, windowSeconds, minTasks } = failureRate;
    if (!(typeof threshold === 'number' && threshold > 0 && threshold <= 1)) {
      problems.push(`alerts.failureRate.threshold must be a share between 0 (excluded) and 1, e.g. 0.2 for 20%; got ${String(threshold)}`);
    }
    if (windowSeconds !== undefined && !positive(windowSeconds)) problems.push(`alerts.failureRate.windowSeconds must be > 0, got ${String(windowSeconds)}`);
    if (minTasks !== undefined && !(Number.isInteger(minTasks) && minTasks >= 1)) problems.push(`alerts.failureRate.minTasks must be an integer ≥ 1, got ${String(minTasks)}`);
  }
  if (typeof workerSilence === 'object' && workerSilence.afterSeconds !== undefined && !positive(workerSilence.afterSeconds)) {
    problems.push(`alerts.workerSilence.afterSeconds must be > 0, got ${String(workerSilence.afterSeconds)}`);
  }
  if (queueBacklog) {
    const entries = Object.entries(queueBacklog.maxDepth ?? {});
    if (entries.length === 0) problems.push("alerts.queueBacklog.maxDepth must name at least one queue, e.g. { celery: 1000 }");
    for (const [queue, depth] of entries) {
      if (!(Number.isInteger(depth) && depth >= 0)) problems.push(`alerts.queueBacklog.maxDepth.${queue} must be an integer ≥ 0, got ${String(depth)}`);
    }
    if (queueBacklog.checkIntervalMs !== undefined && !positive(queueBacklog.checkIntervalMs)) {
      problems.push(`alerts.queueBacklog.checkIntervalMs must be > 0, got ${String(queueBacklog.checkIntervalMs)}`);
    }
  }
  if (options.webhookUrl !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(options.webhookUrl);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) problems.push('alerts.webhookUrl must be an http:// or https:// URL');
  }
  if (options.webhookTimeoutMs !== undefined && !positive(options.webhookTimeoutMs)) {
    problems.push(`alerts.webhookTimeoutMs must be > 0, got ${String(options.webhookTimeoutMs)}`);
  }
  if (options.onAlert !== undefined && typeof options.onAlert !== 'function') problems.push('alerts.onAlert must be a function');
  return problems;
}

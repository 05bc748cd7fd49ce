import type { TaskRegistry } from '../task/task-registry';
import type { CeleryConfig } from './celery-config';

/** What a process does in the deployment besides sending tasks (every process is a producer). */
export interface RuntimeRoles {
  /**
   * `consume`: the worker starts at bootstrap. `manual`: the app starts it (`worker.autoStart:
   * false`, Nest's `manualRegistration` counterpart). `none`: a producer only. `pool-child`: a
   * process-pool child, running the jobs of the worker that forked it.
   */
  readonly worker: 'consume' | 'manual' | 'none' | 'pool-child';
  /** Watches the deployment's events to raise alerts (the dashboard starts the same monitor on its own). */
  readonly alerts: boolean;
  /** Relays the transactional outbox. */
  readonly outboxRelay: boolean;
  /** Fires periodic tasks (the `beat` option): `celery beat`, or with a worker `celery worker -B`. */
  readonly beat: boolean;
  /** One line for the start-up log: what this process is and why. */
  readonly summary: string;
}

/**
 * The one place that decides roles, at bootstrap once every task is registered. Only the app's
 * own tasks make it a worker: Celery's built-ins (`celery.chord_unlock`) never do, so an API
 * process beside Python workers never consumes their queue and stores NotRegistered for their
 * tasks. `worker: false` is always a producer.
 */
export function decideRoles(config: CeleryConfig, registry: TaskRegistry): RuntimeRoles {
  // A pool child only runs its parent's jobs: no relay, alerts or beat of its own (the parent has them).
  if (config.poolChild) return { worker: 'pool-child', alerts: false, outboxRelay: false, beat: false, summary: 'Process-pool child' };
  const tasks = registry.appTaskNames();
  const alerts = config.alerts !== null;
  const outboxRelay = config.outbox?.relay === true;
  const beat = config.beat !== null;
  // A worker with a beat is `celery worker -B`; a beat alone is `celery beat`.
  const roles = (worker: RuntimeRoles['worker'], summary: string): RuntimeRoles => ({ worker, alerts, outboxRelay, beat, summary: beat && worker !== 'none' ? `${summary} and a beat` : summary });
  if (config.worker === null) return roles('none', beat ? 'Beat only (worker: false)' : 'Producer only (worker: false)');
  if (tasks.length === 0) return roles('none', beat ? 'Beat only: no @CeleryTask() methods found' : 'Producer only: no @CeleryTask() methods found');
  if (!config.worker.autoStart) return roles('manual', `Worker for ${tasks.length} task(s), started by the app (worker.autoStart: false)`);
  return roles('consume', `Worker for ${tasks.length} task(s)`);
}

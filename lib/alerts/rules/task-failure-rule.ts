import { maskSecretsInText } from '../../utils/mask-secrets';
import type { CeleryAlert } from '../celery-alert';
import type { AlertRules } from '../alert-options';
import type { FinishedTask } from './finished-task';

/**
 * One alert per failed task, at most one per task name per cooldown: the failures in between are
 * counted and the next alert says how many, so a failing burst pages once, not a thousand times.
 */
export class TaskFailureRule {
  private readonly lastAlertAt = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly rule: NonNullable<AlertRules['taskFailure']>) {}

  taskFinished(task: FinishedTask): CeleryAlert[] {
    if (task.state !== 'FAILURE') return [];
    if (this.rule.tasks && (task.name === null || !this.rule.tasks.has(task.name))) return [];
    const key = task.name ?? '(unknown task)';
    const last = this.lastAlertAt.get(key);
    if (last !== undefined && task.at - last < this.rule.cooldownMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return [];
    }
    const suppressedFailures = this.suppressed.get(key) ?? 0;
    this.lastAlertAt.set(key, task.at);
    this.suppressed.delete(key);
    const more = suppressedFailures > 0 ? ` (and ${suppressedFailures} more since the last alert)` : '';
    // An exception's repr may quote a connection string (a driver's error): masked before it travels.
    const exception = task.exception === undefined ? null : maskSecretsInText(task.exception);
    return [
      {
        rule: 'task-failed',
        status: 'firing',
        severity: 'critical',
        key,
        summary: `Task ${key}[${task.uuid}] failed on ${task.hostname}: ${exception ?? 'unknown error'}${more}`,
        details: { taskId: task.uuid, taskName: task.name, hostname: task.hostname, exception, suppressedFailures },
        at: new Date(task.at).toISOString(),
      },
    ];
  }
}

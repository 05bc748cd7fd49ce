import type { CeleryAlert } from './celery-alert';
import type { AlertRules } from './alert-options';
import { FailureRateRule } from './rules/failure-rate-rule';
import type { FinishedTask } from './rules/finished-task';
import { QueueBacklogRule } from './rules/queue-backlog-rule';
import { TaskFailureRule } from './rules/task-failure-rule';
import { WorkerSilenceRule } from './rules/worker-silence-rule';

/**
 * The alert rules, fed with what is observed (finished tasks, worker heartbeats, queue depths) and
 * the passing of time; every call returns the alerts it raised. Pure: no timers, no I/O, so each
 * rule is tested with a clock in hand. `CeleryAlerts` feeds it from Celery events.
 */
export class AlertEngine {
  private readonly taskFailure: TaskFailureRule | null;
  private readonly failureRate: FailureRateRule | null;
  private readonly workerSilence: WorkerSilenceRule | null;
  private readonly queueBacklog: QueueBacklogRule | null;

  constructor(rules: AlertRules) {
    this.taskFailure = rules.taskFailure && new TaskFailureRule(rules.taskFailure);
    this.failureRate = rules.failureRate && new FailureRateRule(rules.failureRate);
    this.workerSilence = rules.workerSilence && new WorkerSilenceRule(rules.workerSilence);
    this.queueBacklog = rules.queueBacklog && new QueueBacklogRule(rules.queueBacklog);
  }

  /** The queues whose depth should be read and passed to `queueDepthRead`. */
  get watchedQueues(): string[] {
    return this.queueBacklog?.queues ?? [];
  }

  taskFinished(task: FinishedTask): CeleryAlert[] {
    return [...(this.taskFailure?.taskFinished(task) ?? []), ...(this.failureRate?.taskFinished(task) ?? [])];
  }

  workerHeard(hostname: string, at: number, freqSeconds: number): CeleryAlert[] {
    return this.workerSilence?.heard(hostname, at, freqSeconds) ?? [];
  }

  workerLeft(hostname: string, at: number): CeleryAlert[] {
    return this.workerSilence?.left(hostname, at) ?? [];
  }

  queueDepthRead(queue: string, depth: number | null, at: number): CeleryAlert[] {
    return this.queueBacklog?.depthRead(queue, depth, at) ?? [];
  }

  /** Conditions that hold by time passing: a silent worker, a failure rate sliding back under. */
  tick(now: number): CeleryAlert[] {
    return [...(this.workerSilence?.evaluate(now) ?? []), ...(this.failureRate?.evaluate(now) ?? [])];
  }
}

import type { ControlArguments } from './control-message';
import type { BroadcastOptions, ControlClient } from './control-client';
import type { ControlOutcome, QueriedTasks, QueueInfo, ScheduledTaskInfo, TaskRequestInfo, WorkerStats } from './control-replies';

/** Which workers to ask and how long to wait (Celery's `inspect(destination=, timeout=, limit=, pattern=, matcher=)`). */
export type InspectOptions = Omit<BroadcastOptions, 'reply'>;

/** Replies by node name, `{"celery@host": value}`; empty when no worker answered in time. */
export type RepliesByNode<T> = Record<string, T>;

/**
 * Celery's `app.control.inspect()` (`celery.app.control.Inspect`): read-only questions to the
 * workers, each answered with one object of replies by node name. Python returns None when
 * nobody answered; this returns `{}`.
 */
export class Inspect {
  constructor(
    private readonly control: ControlClient,
    private readonly options: InspectOptions,
  ) {}

  ping(): Promise<RepliesByNode<ControlOutcome>> {
    return this.request('ping');
  }

  /** Running tasks; with `safe`, args and kwargs as repr strings. */
  active(options: { safe?: boolean } = {}): Promise<RepliesByNode<TaskRequestInfo[]>> {
    return this.request('active', { safe: options.safe ?? null });
  }

  /** Received tasks waiting to run (not ETA ones). */
  reserved(): Promise<RepliesByNode<TaskRequestInfo[]>> {
    return this.request('reserved');
  }

  /** ETA/countdown tasks held until their time. */
  scheduled(): Promise<RepliesByNode<ScheduledTaskInfo[]>> {
    return this.request('scheduled');
  }

  revoked(): Promise<RepliesByNode<string[]>> {
    return this.request('revoked');
  }

  /** Task names, each with ` [attr=value …]` for the attributes asked (default exchange, routing_key, rate_limit). */
  registered(...taskinfoitems: string[]): Promise<RepliesByNode<string[]>> {
    return this.request('registered', { taskinfoitems });
  }

  stats(): Promise<RepliesByNode<WorkerStats>> {
    return this.request('stats');
  }

  activeQueues(): Promise<RepliesByNode<QueueInfo[]>> {
    return this.request('active_queues');
  }

  queryTask(...ids: string[]): Promise<RepliesByNode<QueriedTasks>> {
    return this.request('query_task', { ids });
  }

  conf(options: { withDefaults?: boolean } = {}): Promise<RepliesByNode<Record<string, unknown>>> {
    return this.request('conf', { with_defaults: options.withDefaults ?? false });
  }

  clock(): Promise<RepliesByNode<{ clock: number }>> {
    return this.request('clock');
  }

  report(): Promise<RepliesByNode<ControlOutcome>> {
    return this.request('report');
  }

  /** Any inspect command by name, for those without a method here. */
  async request<T>(method: string, args: ControlArguments = {}): Promise<RepliesByNode<T>> {
    const replies = await this.control.broadcast<T>(method, args, { ...this.options, reply: true });
    return Object.assign({}, ...replies) as RepliesByNode<T>;
  }
}

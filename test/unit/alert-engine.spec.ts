import { AlertEngine } from '../../lib/alerts/alert-engine';
import { alertOptionProblems, CeleryAlertsOptions, resolveAlertRules } from '../../lib/alerts/alert-options';
import type { FinishedTask } from '../../lib/alerts/rules/finished-task';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function engine(options: CeleryAlertsOptions): AlertEngine {
  expect(alertOptionProblems(options)).toEqual([]);
  return new AlertEngine(resolveAlertRules(options));
}

function finished(state: FinishedTask['state'], at: number, name: string | null = 'tasks.add', uuid = `id-${at}`): FinishedTask {
  return { uuid, name, state, hostname: 'w1@host', exception: state === 'FAILURE' ? "ValueError('boom')" : undefined, at };
}

describe('task-failed rule', () => {
  it('masks a connection string quoted in the exception', () => {
    const rules = engine({ taskFailure: { cooldownSeconds: 0 } });
    const task = { ...finished('FAILURE', T0), exception: "OperationalError('could not connect to postgresql://app:hunter2@db/prod')" };
    const [alert] = rules.taskFinished(task);
    expect(alert.summary).toContain('postgresql://app:***@db/prod');
    expect(JSON.stringify(alert)).not.toContain('hunter2');
  });

  it('alerts on a failure with the task, worker and exception, and not on a success', () => {
    const rules = engine({ taskFailure: { cooldownSeconds: 0 } });
    expect(rules.taskFinished(finished('SUCCESS', T0))).toEqual([]);
    const [alert] = rules.taskFinished(finished('FAILURE', T0 + 1, 'tasks.add', 'abc'));
    expect(alert).toMatchObject({ rule: 'task-failed', status: 'firing', severity: 'critical', key: 'tasks.add' });
    expect(alert.summary).toBe("Task tasks.add[abc] failed on w1@host: ValueError('boom')");
    expect(alert.at).toBe(new Date(T0 + 1).toISOString());
  });

  it('pages once per task name per cooldown and counts the failures in between', () => {
    const rules = engine({ taskFailure: { cooldownSeconds: 60 } });
    expect(rules.taskFinished(finished('FAILURE', T0))).toHaveLength(1);
    for (let i = 1; i <= 5; i += 1) expect(rules.taskFinished(finished('FAILURE', T0 + i * 1000))).toEqual([]);
    expect(rules.taskFinished(finished('FAILURE', T0 + 1000, 'tasks.other'))).toHaveLength(1);
    const [next] = rules.taskFinished(finished('FAILURE', T0 + 61_000));
    expect(next.details.suppressedFailures).toBe(5);
    expect(next.summary).toContain('(and 5 more since the last alert)');
  });

  it('watches only the named tasks when given, and can be turned off', () => {
    const some = engine({ taskFailure: { tasks: ['tasks.pay'], cooldownSeconds: 0 } });
    expect(some.taskFinished(finished('FAILURE', T0, 'tasks.add'))).toEqual([]);
    expect(some.taskFinished(finished('FAILURE', T0, null))).toEqual([]);
    expect(some.taskFinished(finished('FAILURE', T0, 'tasks.pay'))).toHaveLength(1);
    expect(engine({ taskFailure: false }).taskFinished(finished('FAILURE', T0))).toEqual([]);
  });
});

describe('failure-rate rule', () => {
  const options: CeleryAlertsOptions = { taskFailure: false, failureRate: { threshold: 0.5, windowSeconds: 60, minTasks: 4 } };

  it('waits for minTasks, fires at the threshold, and resolves only when the rate falls below it', () => {
    const rules = engine(options);
    expect(rules.taskFinished(finished('FAILURE', T0))).toEqual([]);
    expect(rules.taskFinished(finished('FAILURE', T0 + 1000))).toEqual([]);
    expect(rules.taskFinished(finished('SUCCESS', T0 + 2000))).toEqual([]);
    const [firing] = rules.taskFinished(finished('SUCCESS', T0 + 3000));
    expect(firing).toMatchObject({ rule: 'failure-rate', status: 'firing', details: { failed: 2, finished: 4, rate: 0.5 } });
    expect(firing.summary).toBe('50.0% of tasks failed in the last 60 s (2 of 4), threshold 50.0%');
    // Still breached: no second alert.
    expect(rules.taskFinished(finished('FAILURE', T0 + 4000))).toEqual([]);
    // The first two failures leave the window: 3 tasks left are too few to judge, so a quiet spell resolves nothing.
    expect(rules.tick(T0 + 61_500)).toEqual([]);
    // Enough again: 1 failure of 4 is under the threshold.
    const [resolved] = rules.taskFinished(finished('SUCCESS', T0 + 62_000));
    expect(resolved).toMatchObject({ status: 'resolved', details: { failed: 1, finished: 4, rate: 0.25 } });
    expect(rules.tick(T0 + 62_500)).toEqual([]);
  });

  it('refuses thresholds that are not a share', () => {
    expect(alertOptionProblems({ failureRate: { threshold: 20 } })).toEqual([
      'alerts.failureRate.threshold must be a share between 0 (excluded) and 1, e.g. 0.2 for 20%; got 20',
    ]);
  });
});

describe('worker-silent rule', () => {
  it("uses Celery's expiry (twice the heartbeat interval), fires once, and resolves when heard again", () => {
    const rules = engine({ taskFailure: false });
    expect(rules.workerHeard('w1@host', T0, 2)).toEqual([]);
    expect(rules.tick(T0 + 4000)).toEqual([]);
    const [silent] = rules.tick(T0 + 4001);
    expect(silent).toMatchObject({ rule: 'worker-silent', status: 'firing', key: 'w1@host', details: { expiresAfterSeconds: 4 } });
    expect(rules.tick(T0 + 10_000)).toEqual([]);
    const [back] = rules.workerHeard('w1@host', T0 + 12_000, 2);
    expect(back).toMatchObject({ status: 'resolved', key: 'w1@host', details: { silentForSeconds: 12 } });
  });

  it('does not alert for a worker that went offline cleanly', () => {
    const rules = engine({ workerSilence: { afterSeconds: 1 } });
    rules.workerHeard('w1@host', T0, 2);
    expect(rules.workerLeft('w1@host', T0 + 500)).toEqual([]);
    expect(rules.tick(T0 + 60_000)).toEqual([]);
  });
});

describe('queue-backlog rule', () => {
  it('fires over the limit, once, and resolves under it; a missing queue counts as empty', () => {
    const rules = engine({ taskFailure: false, queueBacklog: { maxDepth: { celery: 100 } } });
    expect(rules.watchedQueues).toEqual(['celery']);
    expect(rules.queueDepthRead('celery', 100, T0)).toEqual([]);
    const [firing] = rules.queueDepthRead('celery', 101, T0);
    expect(firing).toMatchObject({ rule: 'queue-backlog', status: 'firing', severity: 'warning', key: 'celery', details: { depth: 101, maxDepth: 100 } });
    expect(rules.queueDepthRead('celery', 500, T0)).toEqual([]);
    expect(rules.queueDepthRead('celery', null, T0)).toEqual([expect.objectContaining({ status: 'resolved' })]);
    expect(rules.queueDepthRead('other', 10_000, T0)).toEqual([]);
  });

  it('refuses a rule without queues and bad limits, naming each', () => {
    expect(alertOptionProblems({ queueBacklog: { maxDepth: {} } })).toEqual([
      'alerts.queueBacklog.maxDepth must name at least one queue, e.g. { celery: 1000 }',
    ]);
    expect(alertOptionProblems({ queueBacklog: { maxDepth: { celery: -1 } }, webhookUrl: 'ftp://x' })).toEqual([
      'alerts.queueBacklog.maxDepth.celery must be an integer ≥ 0, got -1',
      'alerts.webhookUrl must be an http:// or https:// URL',
    ]);
  });
});

import { Injectable, INestApplicationContext, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { CeleryClient, CeleryModule, OnCeleryAlert } from '../../lib';
import type { CeleryAlert } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { ClusterMonitor } from '../../lib/monitoring/cluster-monitor';
import { startSampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** The app's own receiver, as a user writes one. */
@Injectable()
class Pager {
  static readonly paged: CeleryAlert[] = [];

  @OnCeleryAlert()
  page(alert: CeleryAlert): void {
    Pager.paged.push(alert);
  }
}

/** Only silent workers, to show the rule filter. */
@Injectable()
class OnCall {
  static readonly paged: CeleryAlert[] = [];

  @OnCeleryAlert({ rules: ['worker-silent'] })
  page(alert: CeleryAlert): void {
    OnCall.paged.push(alert);
  }
}

describe('Alerts on a live deployment (real RabbitMQ, our workers, Celery events)', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext | undefined;
  let webhook: Server;
  const posted: CeleryAlert[] = [];
  const backlogQueue = uniqueName('it-alerts-backlog');
  const workerHostname = `${uniqueName('alerts-worker')}@${osHostname()}`;

  beforeAll(async () => {
    env = await createTestEnvironment('it-alerts');
    env.alsoRemove(backlogQueue);
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        posted.push(JSON.parse(body) as CeleryAlert);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const options = celeryOptionsFromEnvironment(
      { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: workerHostname, CELERY_WORKER_SEND_TASK_EVENTS: 'true' },
      { worker: true },
    );
    app = await startCeleryApp(
      {
        ...options,
        alerts: {
          taskFailure: { cooldownSeconds: 0 },
          failureRate: { threshold: 0.5, windowSeconds: 60, minTasks: 4 },
          queueBacklog: { maxDepth: { [backlogQueue]: 3 }, checkIntervalMs: 200 },
          webhookUrl: `http://alerts:hook-secret@127.0.0.1:${(webhook.address() as AddressInfo).port}/celery`,
        },
      },
      [Pager, OnCall],
      [TasksModule],
    );
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => webhook?.close(resolve));
    await env?.dispose();
  });

  it("pages a task's failure with its name, worker and exception, through @OnCeleryAlert() and the webhook", async () => {
    const celery = app!.get(CeleryClient);
    const failed = await celery.send('tasks.fail', ['card declined'], { queue: env.queue });
    const alert = await eventually(() => Pager.paged.find((a) => a.rule === 'task-failed' && a.details.taskId === failed.id), 20_000, 'the task-failed alert');
    expect(alert).toMatchObject({ status: 'firing', severity: 'critical', key: 'tasks.fail', details: { hostname: workerHostname } });
    expect(alert.summary).toContain(`Task tasks.fail[${failed.id}] failed on ${workerHostname}: `);
    expect(alert.summary).toContain('card declined');
    await eventually(() => posted.find((a) => a.rule === 'task-failed' && a.details.taskId === failed.id), 10_000, 'the webhook POST');
    expect(OnCall.paged.filter((a) => a.rule === 'task-failed')).toEqual([]);
  }, 30_000);

  it('fires when the failure rate reaches the threshold', async () => {
    const celery = app!.get(CeleryClient);
    for (const run of [1, 2, 3]) await celery.send('tasks.fail', [`failure ${run}`], { queue: env.queue });
    await celery.send('tasks.add', [1, 2], { queue: env.queue });
    const alert = await eventually(() => Pager.paged.find((a) => a.rule === 'failure-rate'), 20_000, 'the failure-rate alert');
    expect(alert).toMatchObject({ status: 'firing', details: { threshold: 0.5, windowSeconds: 60 } });
    expect(alert.details.finished as number).toBeGreaterThanOrEqual(4);
  }, 30_000);

  it('fires when a watched queue holds more than its limit, and resolves when it drains', async () => {
    const celery = app!.get(CeleryClient);
    // Nobody consumes this queue: the messages wait there.
    for (let i = 0; i < 5; i += 1) await celery.send('tasks.add', [i, i], { queue: backlogQueue });
    const firing = await eventually(() => Pager.paged.find((a) => a.rule === 'queue-backlog' && a.status === 'firing'), 10_000, 'the backlog alert');
    // Sampled while the sends arrive: it fires once the depth passes 3, at 4 or at 5.
    expect(firing).toMatchObject({ key: backlogQueue, severity: 'warning', details: { maxDepth: 3 } });
    expect([4, 5]).toContain(firing.details.depth);
    const drain = startSampleProcess('main-worker', { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_QUEUES: backlogQueue, CELERY_HOSTNAME: `${uniqueName('drain')}@%h` });
    try {
      const resolved = await eventually(() => Pager.paged.find((a) => a.rule === 'queue-backlog' && a.status === 'resolved'), 30_000, 'the backlog resolved');
      expect(resolved.details.depth as number).toBeLessThanOrEqual(3);
    } finally {
      drain.child.kill('SIGTERM');
      await drain.exited;
    }
  }, 60_000);

  it('fires when a worker is killed (no worker-offline) and not when one shuts down cleanly', async () => {
    const killedName = `${uniqueName('killed')}@${osHostname()}`;
    const cleanName = `${uniqueName('clean')}@${osHostname()}`;
    const start = (name: string) =>
      startSampleProcess('main-worker', { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_QUEUES: `${env.queue}-${name.split('@')[0]}`, CELERY_HOSTNAME: name });
    env.alsoRemove(`${env.queue}-${killedName.split('@')[0]}`, `${env.queue}-${cleanName.split('@')[0]}`);
    const killed = start(killedName);
    const clean = start(cleanName);
    await Promise.all([killed.waitForOutput(/consuming/), clean.waitForOutput(/consuming/)]);
    // Both are heard (a worker-online or heartbeat reached the app's monitor) before they go.
    const monitor = app!.get(ClusterMonitor);
    await eventually(() => (monitor.state.worker(killedName)?.online && monitor.state.worker(cleanName)?.online ? true : undefined), 20_000, 'both workers heard');
    killed.child.kill('SIGKILL');
    clean.child.kill('SIGTERM');
    await Promise.all([killed.exited, clean.exited]);
    const silent = await eventually(() => OnCall.paged.find((a) => a.key === killedName && a.status === 'firing'), 20_000, 'the worker-silent alert');
    expect(silent).toMatchObject({ rule: 'worker-silent', severity: 'critical', details: { expiresAfterSeconds: 4 } });
    expect(silent.summary).toMatch(new RegExp(`^Worker ${killedName} sent no heartbeat for \\d+\\.\\d s and did not go offline$`));
    // Give the clean one the same time to (wrongly) expire.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(OnCall.paged.filter((a) => a.key === cleanName)).toEqual([]);
    expect(posted.find((a) => a.key === killedName)?.rule).toBe('worker-silent');
  }, 60_000);
});

describe('@OnCeleryAlert() without the alerts option', () => {
  it('says at start-up that the method will get no alert', async () => {
    const warnings: string[] = [];
    const logger = { log() {}, error() {}, warn: (message: unknown) => void warnings.push(String(message)), debug() {}, verbose() {}, fatal() {} };
    @Module({ imports: [CeleryModule.forRoot({ broker: RABBITMQ_URL, backend: false, worker: false })], providers: [Pager] })
    class AppWithoutAlerts {}
    const moduleRef = await Test.createTestingModule({ imports: [AppWithoutAlerts] }).compile();
    const app = moduleRef.createNestApplication({ logger });
    try {
      await app.init();
      expect(warnings).toContain('@OnCeleryAlert() on Pager.page will get no alert: the alerts option of CeleryModule.forRoot() is not set');
    } finally {
      await app.close();
    }
  });
});

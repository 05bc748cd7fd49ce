import { INestApplicationContext, Injectable } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { CeleryClient, CeleryTask } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { eventually, startCeleryApp } from '../support/celery-app';
import { runPython } from '../support/python-celery';
import { EventMonitorReport, listenToCeleryEvents, RawEvent, startCeleryEventsDump, startPythonEventMonitor } from '../support/python-event-monitor';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

class ValueError extends Error {
  override name = 'ValueError';
}

@Injectable()
class EventTasks {
  @CeleryTask({ name: 'events.fail' })
  fail(message: string): never {
    throw new ValueError(message);
  }
}

/** The client's node name in task-sent events: Celery's anon_nodename of this process. */
const CLIENT = `gen${process.pid}@${osHostname()}`;

/** Our raw events from one sender, flattened out of task.multi batches. */
function eventsFrom(raw: RawEvent[], hostname: string): any[] {
  return raw.filter((event) => event.headers.hostname === hostname).flatMap((event) => (Array.isArray(event.body) ? event.body : [event.body]));
}

describe(`Celery events, as ${CELERY_PEER.name} monitors see them`, () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('it-events');
  });

  afterAll(async () => {
    await env?.dispose();
  });

  describe('a worker with task events on (CELERY_WORKER_SEND_TASK_EVENTS) and a client sending task-sent (CELERY_TASK_SEND_SENT_EVENT)', () => {
    const hostname = `${uniqueName('nest-events')}@${osHostname()}`;
    let report: EventMonitorReport;
    let raw: RawEvent[];
    let dumpOutput: string;
    const ids: Record<string, string> = {};

    // One scenario, watched from start to shutdown; the tests below read what was seen.
    beforeAll(async () => {
      const listener = await listenToCeleryEvents();
      const monitor = await startPythonEventMonitor({ hostname, client: CLIENT, seconds: 60 });
      let app: INestApplicationContext | undefined;
      try {
        const options = celeryOptionsFromEnvironment(
          {
            CELERY_BROKER_URL: RABBITMQ_URL,
            CELERY_RESULT_BACKEND: env.databaseUrl,
            CELERY_QUEUES: env.queue,
            CELERY_HOSTNAME: hostname,
            CELERY_WORKER_SEND_TASK_EVENTS: 'true',
            CELERY_TASK_SEND_SENT_EVENT: 'true',
          },
          { worker: true },
        );
        app = await startCeleryApp(options, [EventTasks], [TasksModule]);
        const celery = app.get(CeleryClient);

        const add = await celery.send('tasks.add', [2, 3]);
        ids.success = add.id;
        await add.get({ timeout: 10_000 });
        const fail = await celery.send('events.fail', ['boom']);
        ids.failure = fail.id;
        await fail.get({ timeout: 10_000 }).catch(() => undefined);
        const flaky = await celery.send('tasks.flaky', ['events-retry', 1]);
        ids.retry = flaky.id;
        await flaky.get({ timeout: 10_000 });

        // A heartbeat after the four runs (add, fail, flaky twice) carries the counts.
        await eventually(() => (eventsFrom(listener.events, hostname).some((event) => event.type === 'worker-heartbeat' && event.processed >= 4) ? true : undefined), 5_000, 'a heartbeat after the tasks');

        const dump = startCeleryEventsDump(20);
        // Our heartbeat in the dump: its queue is bound and it is receiving.
        await dump.waitFor((line) => line.startsWith(`${hostname} `), 'our heartbeat in celery events --dump');
        const dumped = await celery.send('tasks.add', [20, 22]);
        ids.dumped = dumped.id;
        await dump.waitFor((line) => line.includes('task succeeded') && line.includes(dumped.id), 'our task-succeeded in celery events --dump');
        dump.stop();
        dumpOutput = dump.output();
      } finally {
        await app?.close();
      }
      try {
        report = await monitor.report;
      } finally {
        monitor.kill();
        await new Promise((resolve) => setTimeout(resolve, 200)); // the last publishes reach the listener
        raw = [...listener.events];
        await listener.close();
      }
    }, 90_000);

    it('State sees our worker alive, with its running and processed counts and its software', () => {
      const snapshots = report.worker_snapshots;
      expect(snapshots[0]).toMatchObject({ after: 'worker-online', alive: true, active: 0, processed: 0, freq: 2, sw_ident: 'nestjs-celery', sw_sys: expect.any(String) });
      expect(snapshots[0].alive_workers).toContain(hostname);
      const afterTasks = snapshots.find((snapshot) => snapshot.after === 'worker-heartbeat' && snapshot.processed >= 4);
      expect(afterTasks).toMatchObject({ alive: true, active: 0 });
      expect(afterTasks!.loadavg).toHaveLength(3);
    });

    it('State follows our tasks through their states, with names, args and the exception', () => {
      expect(report.tasks[ids.success]).toMatchObject({ name: 'tasks.add', state: 'SUCCESS', args: '(2, 3)', kwargs: '{}', result: '5', worker: hostname, client: CLIENT });
      expect(report.tasks[ids.success].runtime).toBeGreaterThanOrEqual(0);
      expect(report.tasks[ids.success].started).not.toBeNull();
      expect(report.tasks[ids.failure]).toMatchObject({ name: 'events.fail', state: 'FAILURE', args: "('boom',)", exception: "ValueError('boom')", worker: hostname });
      expect(report.tasks[ids.failure].traceback).toContain('ValueError: boom');
      // The retried try and the next one share the id: State saw RETRY, then the success that ended it.
      expect(report.tasks[ids.retry]).toMatchObject({ name: 'tasks.flaky', state: 'SUCCESS', result: "'events-retry'", retries: 1 });
      expect(report.tasks[ids.retry].retried).not.toBeNull();
      expect(report.events.filter((type) => type === 'task-retried')).toHaveLength(1);
    });

    it('celery events --dump prints our task-succeeded line', () => {
      const line = dumpOutput.split('\n').find((text) => text.includes('task succeeded') && text.includes(ids.dumped));
      expect(line).toContain(hostname);
      expect(line).toContain(`tasks.add(${ids.dumped}) args=(20, 22) kwargs={}`);
      expect(line).toContain('result=42');
    });

    it("the client's task-sent reaches State (task_send_sent_event)", () => {
      expect(report.tasks[ids.success].sent).not.toBeNull();
      const sent = eventsFrom(raw, CLIENT).find((event) => event.type === 'task-sent' && event.uuid === ids.success);
      expect(sent).toMatchObject({ name: 'tasks.add', args: '(2, 3)', queue: env.queue, exchange: '', routing_key: env.queue });
      expect(raw.find((event) => event.routingKey === 'task.sent' && event.body.uuid === ids.success)?.headers).toEqual({ hostname: CLIENT });
    });

    it('travel as Celery sends them: task events in task.multi arrays, worker events alone, every one on celeryev with its envelope', () => {
      const fromWorker = raw.filter((event) => event.headers.hostname === hostname);
      const routingKeys = new Set(fromWorker.map((event) => event.routingKey));
      expect([...routingKeys].sort()).toEqual(['task.multi', 'worker.heartbeat', 'worker.offline', 'worker.online']);
      for (const event of fromWorker) {
        expect(Array.isArray(event.body)).toBe(event.routingKey === 'task.multi');
        expect(event.properties).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 1, priority: 0 });
      }
      // Fewer publishes than task events: several events of one tick share a batch.
      const taskEvents = eventsFrom(raw, hostname).filter((event) => event.type.startsWith('task-'));
      expect(fromWorker.filter((event) => event.routingKey === 'task.multi').length).toBeLessThan(taskEvents.length);
    });

    it('carry the utcoffset Python computes here, clocks that only go forward, and arrive within moments', () => {
      const ours = eventsFrom(raw, hostname);
      expect(new Set(ours.map((event) => event.utcoffset))).toEqual(new Set([report.python_utcoffset]));
      const clocks = ours.map((event) => event.clock);
      expect(clocks).toEqual([...clocks].sort((a, b) => a - b));
      expect(report.max_lag_seconds).toBeLessThan(2);
    });

    it('worker-offline at shutdown makes State drop the worker', () => {
      const last = report.worker_snapshots[report.worker_snapshots.length - 1];
      expect(last).toMatchObject({ after: 'worker-offline', alive: false });
      expect(last.alive_workers).not.toContain(hostname);
      expect(report.alive_workers_at_end).not.toContain(hostname);
    });
  });

  describe('a worker with task events off (the default), switched by remote control', () => {
    const hostname = `${uniqueName('nest-quiet')}@${osHostname()}`;
    let raw: RawEvent[];
    const ids: Record<string, string> = {};
    const replies: Record<string, unknown> = {};

    /** Celery 5.2.6's app.control, as Flower and `celery control` use it, aimed at our worker. */
    const control = (command: string) =>
      runPython(
        `import json; from celery import Celery
app = Celery(broker=${JSON.stringify(RABBITMQ_URL)})
print(json.dumps(app.control.broadcast(${JSON.stringify(command)}, destination=[${JSON.stringify(hostname)}], reply=True, timeout=5)))`,
      ).then((output) => JSON.parse(output.trim().split('\n').pop()!));

    beforeAll(async () => {
      const listener = await listenToCeleryEvents();
      const app = await startCeleryApp(
        celeryOptionsFromEnvironment({ CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: hostname }, { worker: true }),
        [],
        [TasksModule],
      );
      try {
        const celery = app.get(CeleryClient);
        const run = async (key: string, args: unknown[]) => {
          const result = await celery.send('tasks.add', args);
          ids[key] = result.id;
          await result.get({ timeout: 10_000 });
        };
        await run('whileOff', [1, 1]);
        await eventually(() => (eventsFrom(listener.events, hostname).some((event) => event.type === 'worker-heartbeat' && event.processed >= 1) ? true : undefined), 5_000, 'a heartbeat');
        replies.enable = await control('enable_events');
        await run('whileOn', [2, 2]);
        replies.disable = await control('disable_events');
        await run('afterOff', [3, 3]);
        replies.heartbeat = await control('heartbeat');
        await eventually(() => (eventsFrom(listener.events, hostname).some((event) => event.type === 'worker-heartbeat' && event.freq === 5) ? true : undefined), 5_000, 'the requested heartbeat');
      } finally {
        await app.close();
        await new Promise((resolve) => setTimeout(resolve, 200));
        raw = [...listener.events];
        await listener.close();
      }
    }, 60_000);

    it('sends worker events only: online, heartbeats, offline', () => {
      const types = eventsFrom(raw, hostname).map((event) => event.type);
      expect(types[0]).toBe('worker-online');
      expect(types[types.length - 1]).toBe('worker-offline');
      const taskEventsFor = (id: string) => eventsFrom(raw, hostname).filter((event) => event.uuid === id);
      expect(taskEventsFor(ids.whileOff)).toEqual([]);
      expect(taskEventsFor(ids.afterOff)).toEqual([]);
    });

    it('enable_events / disable_events from Python switch task events, with Celery\'s replies', () => {
      expect(replies.enable).toEqual([{ [hostname]: { ok: 'task events enabled' } }]);
      expect(replies.disable).toEqual([{ [hostname]: { ok: 'task events disabled' } }]);
      const types = eventsFrom(raw, hostname).filter((event) => event.uuid === ids.whileOn).map((event) => event.type);
      expect(types).toEqual(['task-received', 'task-started', 'task-succeeded']);
    });

    it('the heartbeat command sends a worker-heartbeat at once (freq 5 and the software, as Celery)', () => {
      const requested = eventsFrom(raw, hostname).find((event) => event.type === 'worker-heartbeat' && event.freq === 5);
      expect(requested).toMatchObject({ sw_ident: 'nestjs-celery' });
      expect(requested).not.toHaveProperty('active');
    });

    it('and its client sends no task-sent', () => {
      expect(raw.some((event) => event.routingKey === 'task.sent' && Object.values(ids).includes(event.body.uuid))).toBe(false);
    });
  });
});

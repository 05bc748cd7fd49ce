import type { ExchangeDeclaration, OutgoingMessage } from '../../lib/broker/broker.interface';
import { encodeEventMessage } from '../../lib/events/encode-event-message';
import { EventBroker, TASK_BATCH_LIMIT } from '../../lib/events/event-dispatcher';
import { EVENT_EXCHANGE, eventRoutingKey } from '../../lib/events/event-exchange';
import { exceptionRepr } from '../../lib/events/exception-repr';
import { safeRepr } from '../../lib/events/safe-repr';
import { SOFTWARE_INFO } from '../../lib/events/software-info';
import { TaskSentEvents } from '../../lib/events/task-sent-events';
import { utcOffsetHours } from '../../lib/events/utc-offset';
import { WorkerEventsMonitor } from '../../lib/worker/worker-events-monitor';
import { MaxRetriesExceededError } from '../../lib/errors/max-retries-exceeded.error';
import { NotRegisteredError } from '../../lib/errors/not-registered.error';
import { encodeTaskMessage } from '../../lib/protocol/encode-task-message';
import { LamportClock } from '../../lib/protocol/lamport-clock';
import { EMPTY_EMBED } from '../../lib/protocol/signature-dict';
import { TaskMessage } from '../../lib/protocol/task-message';
import { SILENT_LOGGER } from '../../lib/utils/logger';
import { CapturedMessage, loadFixture } from '../support/fixtures';

/** Records what would reach RabbitMQ: these are unit tests of the event encoding, not of a broker. */
class RecordingBroker implements EventBroker {
  readonly published: OutgoingMessage[] = [];
  readonly exchanges: ExchangeDeclaration[] = [];
  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.exchanges.push(exchange);
  }
  async publish(message: OutgoingMessage): Promise<void> {
    this.published.push(message);
  }

  /** The bodies published so far, parsed. */
  bodies(): any[] {
    return this.published.map((message) => JSON.parse(message.body.toString('utf8')));
  }
}

class ValueError extends Error {
  override name = 'ValueError';
}

const TASK_ID = '26452903-1098-4a79-8637-62c6ef26dbeb';

function taskMessage(overrides: Partial<TaskMessage> = {}): TaskMessage {
  return {
    id: TASK_ID,
    task: 'proto.add',
    args: [2, 3],
    kwargs: {},
    embed: EMPTY_EMBED,
    rootId: TASK_ID,
    parentId: null,
    group: null,
    groupIndex: null,
    retries: 0,
    eta: null,
    expires: null,
    timeLimit: [null, null],
    shadow: null,
    origin: 'gen1@host',
    ignoreResult: false,
    argsrepr: '(2, 3)',
    kwargsrepr: '{}',
    customHeaders: {},
    replyTo: null,
    correlationId: TASK_ID,
    priority: null,
    ...overrides,
  };
}

/** A type per value, telling arrays and null apart, to compare field sets with the captures. */
function shape(event: Record<string, unknown>): [string, string][] {
  return Object.entries(event).map(([key, value]) => [key, value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value]);
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

/** Lets the exchange declaration and the publishes chained on it settle. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await nextTick();
}

describe('Celery events', () => {
  let broker: RecordingBroker;
  let clock: LamportClock;
  let processed: number;
  let active: unknown[];
  let monitor: WorkerEventsMonitor;

  beforeEach(() => {
    broker = new RecordingBroker();
    clock = new LamportClock();
    processed = 0;
    active = [];
    const worker = { hostname: 'events@unit', activeTasks: () => active, get processedCount() { return processed; } };
    monitor = new WorkerEventsMonitor(worker, { broker, clock, logger: SILENT_LOGGER, sendTaskEvents: true, heartbeatIntervalSeconds: 2 });
  });

  afterEach(() => monitor.workerStopped());

  /** Our event of a type, made by the monitor as the worker would trigger it. */
  async function eventOf(type: string): Promise<any> {
    const message = taskMessage();
    const triggers: Record<string, () => void> = {
      'task-received': () => monitor.taskReceived(message),
      'task-started': () => monitor.taskStarted(message),
      'task-succeeded': () => monitor.taskSucceeded(message, 5, 0.0155),
      'task-failed': () => monitor.taskFailed(message, new ValueError('boom'), 0.01),
      'task-retried': () => monitor.taskRetried(message, new RangeError('transient')),
      'task-revoked': () => monitor.taskRevoked(message, 'revoked'),
      'task-rejected': () => monitor.taskRejected(message, false),
      'worker-online': () => monitor.workerStarted(),
      'worker-offline': () => {
        monitor.workerStarted();
        monitor.workerStopped();
      },
    };
    triggers[type]();
    await settle();
    const events = broker.bodies().flat();
    return events.filter((event) => event.type === type).pop();
  }

  describe('have the fields of Celery 5.2.6, with the same types (Fx worker_event_*)', () => {
    const types = ['task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-rejected', 'worker-online', 'worker-offline'];

    it.each(types)('%s', async (type) => {
      const captured = loadFixture(`worker_event_${type.replace(/-/g, '_')}`).examples[0].event;
      const ours = await eventOf(type);
      expect(shape(ours)).toEqual(shape(captured));
    });

    it('worker-heartbeat, sent every freq seconds', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      try {
        monitor.workerStarted();
        jest.advanceTimersByTime(2_000);
      } finally {
        jest.useRealTimers();
      }
      await settle();
      const heartbeat = broker.bodies().find((event) => event.type === 'worker-heartbeat');
      const captured = loadFixture('worker_event_worker_heartbeat').examples[0].event;
      expect(shape(heartbeat)).toEqual(shape(captured));
    });
  });

  it('fill the fields as Celery does', async () => {
    expect(await eventOf('task-received')).toMatchObject({
      hostname: 'events@unit',
      pid: process.pid,
      uuid: TASK_ID,
      name: 'proto.add',
      args: '(2, 3)',
      kwargs: '{}',
      root_id: TASK_ID,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
      type: 'task-received',
    });
    expect(await eventOf('task-succeeded')).toMatchObject({ result: '5', runtime: 0.0155 });
    expect(await eventOf('task-failed')).toMatchObject({ exception: "ValueError('boom')", traceback: expect.stringContaining('ValueError: boom') });
    expect(await eventOf('task-revoked')).toMatchObject({ terminated: false, signum: null, expired: false });
    expect(await eventOf('task-rejected')).toMatchObject({ requeue: false });
    expect(await eventOf('worker-online')).toMatchObject({ freq: 2, active: 0, processed: 0, sw_ident: 'nestjs-celery', sw_ver: SOFTWARE_INFO.sw_ver });
  });

  it('name a shadowed task by its shadow, write eta and expires as Celery dates, and repr arguments a producer left out', async () => {
    const eta = new Date('2026-11-24T08:34:37.697Z');
    monitor.taskReceived(taskMessage({ shadow: 'shown.name', argsrepr: null, kwargsrepr: null, kwargs: { k: 'v' }, eta, expires: eta }));
    await settle();
    expect(broker.bodies()[0][0]).toMatchObject({
      name: 'shown.name',
      args: '(2, 3)',
      kwargs: "{'k': 'v'}",
      eta: '2026-11-24T08:34:37.697000+00:00',
      expires: '2026-11-24T08:34:37.697000+00:00',
    });
  });

  it('report a terminated task with SIGTERM, as Celery revoke(terminate=True) by default, and an expired one as expired', async () => {
    monitor.taskRevoked(taskMessage(), 'terminated');
    monitor.taskRevoked(taskMessage(), 'expired');
    await settle();
    expect(broker.bodies()[0]).toMatchObject([
      { terminated: true, signum: 15, expired: false },
      { terminated: false, signum: null, expired: true },
    ]);
  });

  it('tell a task that never ran (unknown task) by an exception without traceback, as NotRegistered', async () => {
    monitor.taskFailed({ id: 'x' }, new NotRegisteredError('tasks.missing'), null);
    await settle();
    const failed = broker.bodies()[0][0];
    expect(failed.exception).toBe("NotRegistered('tasks.missing')");
    expect(failed).not.toHaveProperty('traceback');
  });

  it('forward the shared Lamport clock, one tick per event', async () => {
    clock.adjust(40);
    monitor.taskStarted(taskMessage());
    monitor.taskSucceeded(taskMessage(), 1, 0.1);
    await settle();
    expect(broker.bodies()[0].map((event: any) => event.clock)).toEqual([42, 43]);
    expect(clock.value).toBe(43);
  });

  describe('envelope (Fx worker_events_envelopes)', () => {
    const envelopes: Record<string, CapturedMessage> = loadFixture('worker_events_envelopes').messages;

    it.each(Object.entries(envelopes))('%s: exchange, routing key, properties and headers as Celery 5.2.6', (routingKey, captured) => {
      const message = encodeEventMessage(routingKey, captured.headers.hostname as string, captured.body as any);
      expect(message).toMatchObject({ exchange: captured.exchange, routingKey: captured.routing_key, mandatory: false });
      expect(message.properties).toEqual({
        contentType: captured.properties.content_type,
        contentEncoding: captured.properties.content_encoding,
        deliveryMode: captured.properties.delivery_mode,
        priority: captured.properties.priority,
        headers: captured.headers,
      });
      expect(JSON.parse(message.body.toString('utf8'))).toEqual(captured.body);
    });

    it('a task.multi body is byte for byte what Celery 5.2.6 wrote', () => {
      const captured = envelopes['task.multi'];
      expect(encodeEventMessage('task.multi', 'capture-rpc@vm', captured.body as any).body.toString('utf8')).toBe(captured.body_raw);
    });

    it('routing keys are the type with - as .', () => {
      expect(eventRoutingKey('worker-heartbeat')).toBe('worker.heartbeat');
      expect(eventRoutingKey('task-sent')).toBe('task.sent');
    });

    it('celeryev is declared once, before the first publish, as Celery declares it: durable topic', async () => {
      monitor.workerStarted();
      monitor.taskStarted(taskMessage());
      await settle();
      expect(broker.exchanges).toEqual([{ name: 'celeryev', type: 'topic', durable: true, autoDelete: false }]);
      expect(broker.exchanges[0]).toBe(EVENT_EXCHANGE);
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online', 'task.multi']);
    });
  });

  describe('task events are batched like a Celery worker', () => {
    it('publishes nothing at once, then one task.multi array on the next tick', async () => {
      monitor.workerStarted();
      await settle();
      broker.published.length = 0;
      monitor.taskReceived(taskMessage());
      monitor.taskStarted(taskMessage());
      monitor.taskSucceeded(taskMessage(), 5, 0.01);
      expect(broker.published).toHaveLength(0);
      await nextTick();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['task.multi']);
      expect(broker.bodies()[0].map((event: any) => event.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    });

    it(`publishes at once when ${TASK_BATCH_LIMIT} events are waiting: 60 events in one tick are 3 publishes (24, 24, 12)`, async () => {
      monitor.workerStarted();
      await settle();
      broker.published.length = 0;
      for (let index = 0; index < 60; index++) monitor.taskStarted(taskMessage({ id: `task-${index}` }));
      expect(broker.published.map((message) => JSON.parse(message.body.toString()).length)).toEqual([24, 24]);
      await nextTick();
      expect(broker.bodies().map((batch) => batch.length)).toEqual([24, 24, 12]);
      expect(broker.bodies().flat().map((event: any) => event.uuid)).toEqual(Array.from({ length: 60 }, (_, index) => `task-${index}`));
    });

    it('sends worker events alone, never batched', async () => {
      monitor.workerStarted();
      monitor.sendHeartbeat();
      await settle();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online', 'worker.heartbeat']);
      expect(broker.bodies().every((body) => !Array.isArray(body))).toBe(true);
    });

    it('flushes waiting task events before worker-offline', async () => {
      monitor.workerStarted();
      monitor.taskSucceeded(taskMessage(), 1, 0.1);
      monitor.workerStopped();
      await settle();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online', 'task.multi', 'worker.offline']);
    });

    it('says worker-offline as the warm shutdown begins, as Celery, and sends the events of tasks finishing meanwhile after it', async () => {
      jest.useFakeTimers();
      try {
        monitor.workerStarted();
        monitor.workerStopping();
        // A shutdown longer than two heartbeat intervals sends no heartbeat after the goodbye.
        jest.advanceTimersByTime(5_000);
        monitor.taskSucceeded(taskMessage(), 1, 0.1);
        monitor.workerStopped();
      } finally {
        jest.useRealTimers();
      }
      await settle();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online', 'worker.offline', 'task.multi']);
    });
  });

  describe('switches', () => {
    it('task events off: worker events only; enable_events / disable_events switch them and say whether anything changed', async () => {
      const quiet = new WorkerEventsMonitor(
        { hostname: 'quiet@unit', activeTasks: () => [], processedCount: 0 },
        { broker, clock, logger: SILENT_LOGGER, sendTaskEvents: false, heartbeatIntervalSeconds: 2 },
      );
      quiet.workerStarted();
      quiet.taskReceived(taskMessage());
      await settle();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online']);
      expect(quiet.enableTaskEvents()).toBe(true);
      expect(quiet.enableTaskEvents()).toBe(false);
      quiet.taskReceived(taskMessage());
      expect(quiet.disableTaskEvents()).toBe(true);
      expect(quiet.disableTaskEvents()).toBe(false);
      quiet.taskReceived(taskMessage());
      quiet.workerStopped();
      await settle();
      expect(broker.published.map((message) => message.routingKey)).toEqual(['worker.online', 'task.multi', 'worker.offline']);
      expect(broker.bodies()[1]).toHaveLength(1);
    });

    it('the heartbeat control command sends freq 5 and the software only, as Celery', async () => {
      monitor.workerStarted();
      monitor.sendHeartbeat();
      await settle();
      const requested = broker.bodies()[1];
      expect(Object.keys(requested)).toEqual(['hostname', 'utcoffset', 'pid', 'clock', 'freq', 'sw_ident', 'sw_ver', 'sw_sys', 'timestamp', 'type']);
      expect(requested.freq).toBe(5);
    });

    it('reports running and processed tasks in heartbeats', async () => {
      active = [{}, {}];
      processed = 7;
      monitor.workerStarted();
      await settle();
      expect(broker.bodies()[0]).toMatchObject({ active: 2, processed: 7 });
    });
  });

  it('never throws into the worker: a cyclic, huge or hostile result still gives an event', async () => {
    const cyclic: any = { name: 'loop' };
    cyclic.self = cyclic;
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    expect(() => monitor.taskSucceeded(taskMessage(), cyclic, 0.1)).not.toThrow();
    expect(() => monitor.taskSucceeded(taskMessage(), hostile, 0.1)).not.toThrow();
    expect(() => monitor.taskSucceeded(taskMessage(), 'x'.repeat(10_000_000), 0.1)).not.toThrow();
    await settle();
    expect(broker.bodies()[0].map((event: any) => event.result.length <= 1024)).toEqual([true, true, true]);
  });

  it('a failed publish is dropped, not thrown', async () => {
    broker.publish = () => Promise.reject(new Error('broker down'));
    expect(() => monitor.workerStarted()).not.toThrow();
    await settle();
  });

  describe('task-sent (Fx event_task_sent)', () => {
    it('has the fields of Celery 5.2.6, read from the headers just sent, under gen<pid>@host', async () => {
      const captured = loadFixture('event_task_sent').messages[0];
      const { properties } = encodeTaskMessage(taskMessage({ id: captured.body.uuid, rootId: captured.body.uuid, args: [4, 4], argsrepr: null, kwargsrepr: null, eta: new Date() }));
      new TaskSentEvents({ broker, clock, logger: SILENT_LOGGER }).taskSent(properties.headers!, { queue: 'celery', exchange: '', routingKey: 'celery' });
      await settle();
      const [message] = broker.published;
      expect(message.routingKey).toBe('task.sent');
      const sent = JSON.parse(message.body.toString());
      expect(shape(sent)).toEqual(shape(captured.body));
      expect(sent).toMatchObject({ args: '(4, 4)', kwargs: '{}', eta: properties.headers!.eta, queue: 'celery', exchange: '', routing_key: 'celery', hostname: expect.stringMatching(/^gen\d+@/) });
      expect(message.properties.headers).toEqual({ hostname: sent.hostname });
    });
  });
});

describe('utcoffset, as celery.utils.time.utcoffset() (hours west of UTC, rounded down)', () => {
  // Node's getTimezoneOffset() in these zones and dates, and what Python 3 printed there
  // (`time.timezone // 3600`, `time.altzone // 3600` in DST): the rounding of half-hour zones matters.
  it.each([
    ['UTC', 0, 0],
    ['Europe/Berlin, winter', -60, -1],
    ['Europe/Berlin, summer', -120, -2],
    ['Asia/Kolkata', -330, -6],
    ['America/St_Johns, winter', 210, 3],
    ['America/St_Johns, summer', 150, 2],
    ['America/New_York, winter', 300, 5],
    ['America/New_York, summer', 240, 4],
    ['Pacific/Chatham, summer', -825, -14],
    ['Pacific/Chatham, winter', -765, -13],
  ])('%s: getTimezoneOffset() %d → %d', (_zone, minutesWest, expected) => {
    expect(utcOffsetHours({ getTimezoneOffset: () => minutesWest } as Date)).toBe(expected);
  });

  it('follows the process time zone now', () => {
    expect(utcOffsetHours()).toBe(Math.floor(new Date().getTimezoneOffset() / 60));
  });
});

describe('reprs', () => {
  it('a result is shown like saferepr: three levels deep, then [...] (Fx worker_event_task_succeeded)', () => {
    expect(safeRepr({ args: [1, 'x'], kwargs: { k: { n: [1, 2] } } })).toBe("{'args': [1, 'x'], 'kwargs': {'k': {'n': [...]}}}");
    expect(safeRepr('done')).toBe("'done'");
    expect(safeRepr(null)).toBe('None');
    expect(safeRepr([])).toBe('[]');
  });

  it('a result is cut at 1024 characters', () => {
    const text = safeRepr(Array.from({ length: 1000 }, (_, index) => index));
    expect(text).toHaveLength(1024);
    expect(text.endsWith('...')).toBe(true);
  });

  it('an exception is shown as Python shows it', () => {
    expect(exceptionRepr(new ValueError('boom'))).toBe("ValueError('boom')");
    // A plain JS Error is stored, and so shown, as Python's Exception (python-exception-classes.ts).
    expect(exceptionRepr(new Error())).toBe('Exception()');
    expect(exceptionRepr(undefined)).toBe('None');
    expect(exceptionRepr('plain text')).toBe("Exception('plain text')");
    expect(exceptionRepr(new MaxRetriesExceededError('proto.retry_exhaust[id] args:() kwargs:{}', undefined))).toBe(
      'MaxRetriesExceededError("Can\'t retry proto.retry_exhaust[id] args:() kwargs:{}")',
    );
  });
});

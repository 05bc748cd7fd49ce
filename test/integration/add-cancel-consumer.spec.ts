import { INestApplicationContext, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { CeleryClient, CeleryTask, CeleryWorker, currentTask } from '../../lib';
import type { Broker } from '../../lib/broker/broker.interface';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { CELERY_BROKER } from '../../lib/celery.constants';
import { WorkerNotConsumingError } from '../../lib/errors/worker-not-consuming.error';
import { eventually, startCeleryApp } from '../support/celery-app';
import { celeryCliJson } from '../support/celery-cli';
import { runPython } from '../support/python-celery';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { redisClient, redisUrl } from '../support/redis';
import { CELERY_PEER } from '../support/celery-peer';

/** This file's Redis database (redis-broker.spec uses 7, redis-interop 8, redis-visibility-timeout 9). */
const REDIS_DB = 11;

@Injectable()
class QueueTasks {
  /** The queue each run task came from, by key. */
  readonly ranFrom = new Map<string, string>();

  @CeleryTask({ name: 'consumers.mark' })
  mark(key: string): string {
    this.ranFrom.set(key, currentTask().deliveryInfo.queue);
    return key;
  }
}

/** Runs `body` in Python Celery 5.2.6 with `app` on `brokerUrl` and `json` imported; returns what it printed last, parsed. */
async function python<T = any>(brokerUrl: string, body: string): Promise<T> {
  const output = await runPython(`import json\nfrom celery import Celery\napp = Celery(broker=${JSON.stringify(brokerUrl)})\n${body}`);
  return JSON.parse(output.trim().split('\n').pop()!) as T;
}

interface RunningApp {
  app: INestApplicationContext;
  worker: CeleryWorker;
  tasks: QueueTasks;
  broker: Broker;
  node: string;
}

async function startApp(brokerUrl: string | undefined, defaultQueue: string, worker: Record<string, unknown> = {}): Promise<RunningApp> {
  const app = await startCeleryApp({ broker: brokerUrl ?? 'memory://', backend: false, defaultQueue, worker: { concurrency: 2, ...worker } }, [QueueTasks]);
  const celeryWorker = app.get(CeleryWorker);
  return { app, worker: celeryWorker, tasks: app.get(QueueTasks), broker: app.get<Broker>(CELERY_BROKER), node: celeryWorker.hostname };
}

/**
 * Celery's `add_consumer` / `cancel_consumer` remote control against our worker, sent by real
 * Python Celery 5.2.6 exactly as Flower and `celery control` send them, on RabbitMQ and on Redis:
 * the replies are Celery's, the queue is consumed (or no longer) at once, `inspect active_queues`
 * follows.
 */
describe.each([
  ['RabbitMQ', RABBITMQ_URL],
  ['Redis', redisUrl(REDIS_DB)],
])(`add_consumer and cancel_consumer on %s, sent by ${CELERY_PEER.name}`, (brokerName, brokerUrl) => {
  const base = uniqueName('it-consumers');
  const added = uniqueName('it-consumers-added');
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp(brokerUrl, base);
  }, 30_000);

  afterAll(async () => {
    await running?.app.close();
    if (brokerName === 'RabbitMQ') {
      await deleteQueues(base, added);
      await deleteExchanges(base, added);
    } else {
      const redis: Redis = await redisClient(REDIS_DB);
      await redis.del(base, added, `_kombu.binding.${base}`, `_kombu.binding.${added}`);
      redis.disconnect();
    }
  });

  it('starts consuming a queue on app.control.add_consumer(), runs a task Python sends to it, and lists it in inspect().active_queues()', async () => {
    const { node, tasks, worker } = running;
    const result = await python(
      brokerUrl,
      `
replies = app.control.add_consumer(${JSON.stringify(added)}, destination=[${JSON.stringify(node)}], reply=True, timeout=5)
app.send_task('consumers.mark', args=['sent-to-added'], queue=${JSON.stringify(added)})
queues = app.control.inspect(destination=[${JSON.stringify(node)}], timeout=5).active_queues()
print(json.dumps({'replies': replies, 'queues': queues}))
`,
    );
    expect(result.replies).toEqual([{ [node]: { ok: `add consumer ${added}` } }]);
    const listed = result.queues[node] as { name: string }[];
    expect(listed.map((queue) => queue.name)).toEqual([base, added]);
    // Declared as Celery declares a queue it was not configured with: direct exchange and key named like it.
    expect(listed[1]).toMatchObject({ name: added, exchange: { name: added, type: 'direct', durable: true }, routing_key: added, durable: true });
    expect(await eventually(() => tasks.ranFrom.get('sent-to-added'), 15_000, 'the task sent to the added queue')).toBe(added);
    expect(worker.consumedQueues().map((queue) => queue.name)).toEqual([base, added]);
  });

  it('answers Flower\'s request for a queue consumed already with "add consumer", as Celery 5.2.6 does, and consumes it once', async () => {
    const { node, worker } = running;
    // flower/api/control.py WorkerQueueAddConsumer: broadcast('add_consumer', arguments={'queue': queue}, destination=[workername], reply=True)
    const replies = await python(
      brokerUrl,
      `print(json.dumps(app.control.broadcast('add_consumer', arguments={'queue': ${JSON.stringify(added)}}, destination=[${JSON.stringify(node)}], reply=True, timeout=5)))`,
    );
    expect(replies).toEqual([{ [node]: { ok: `add consumer ${added}` } }]);
    expect(worker.consumedQueues().map((queue) => queue.name)).toEqual([base, added]);
  });

  it('stops consuming on app.control.cancel_consumer(): a task sent afterwards stays in the queue, the other queue goes on, and add_consumer takes it up again', async () => {
    const { node, tasks, broker, app } = running;
    const result = await python(
      brokerUrl,
      `
replies = app.control.cancel_consumer(${JSON.stringify(added)}, destination=[${JSON.stringify(node)}], reply=True, timeout=5)
app.send_task('consumers.mark', args=['stranded'], queue=${JSON.stringify(added)})
app.send_task('consumers.mark', args=['marker'], queue=${JSON.stringify(base)})
queues = app.control.inspect(destination=[${JSON.stringify(node)}], timeout=5).active_queues()
print(json.dumps({'replies': replies, 'queues': queues}))
`,
    );
    expect(result.replies).toEqual([{ [node]: { ok: `no longer consuming from ${added}` } }]);
    expect((result.queues[node] as { name: string }[]).map((queue) => queue.name)).toEqual([base]);
    // Sent after "stranded" on the same connection: once it has run, "stranded" has been in its queue for a while.
    expect(await eventually(() => tasks.ranFrom.get('marker'), 15_000, 'the task sent to the queue still consumed')).toBe(base);
    expect(tasks.ranFrom.has('stranded')).toBe(false);
    expect(await broker.queueDepth(added)).toBe(1);

    const again = await app.get(CeleryClient).control.addConsumer(added, { destination: [node], reply: true, timeout: 5_000 });
    expect(again).toEqual([{ [node]: { ok: `add consumer ${added}` } }]);
    expect(await eventually(() => tasks.ranFrom.get('stranded'), 15_000, 'the stranded task once its queue is consumed again')).toBe(added);
  });
});

describe('add_consumer and cancel_consumer by `celery control` on RabbitMQ', () => {
  const base = uniqueName('it-consumers-cli');
  const topicQueue = uniqueName('it-consumers-topic');
  const topicExchange = uniqueName('it-consumers-topic-exchange');
  const refused = uniqueName('it-consumers-refused');
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp(RABBITMQ_URL, base);
  }, 30_000);

  afterAll(async () => {
    await running?.app.close();
    await deleteQueues(base, topicQueue, refused);
    await deleteExchanges(base, topicExchange, refused);
  });

  it('declares a queue with the exchange, type and routing key given (`add_consumer <queue> [exchange [type [routing_key]]]`) and consumes it', async () => {
    const { node, tasks } = running;
    const replies = await celeryCliJson('control', 'add_consumer', topicQueue, topicExchange, 'topic', 'reports.#', '-d', node, '-t', '5');
    expect(replies).toEqual({ [node]: { ok: `add consumer ${topicQueue}` } });
    const queues = await celeryCliJson<{ name: string }[]>('inspect', 'active_queues', '-d', node, '-t', '5');
    expect(queues[node].find((queue) => queue.name === topicQueue)).toMatchObject({ exchange: { name: topicExchange, type: 'topic' }, routing_key: 'reports.#' });
    await python(RABBITMQ_URL, `app.send_task('consumers.mark', args=['by-topic'], exchange=${JSON.stringify(topicExchange)}, routing_key='reports.daily')\nprint('null')`);
    expect(await eventually(() => tasks.ranFrom.get('by-topic'), 15_000, 'the task routed by topic')).toBe(topicQueue);

    expect(await celeryCliJson('control', 'cancel_consumer', topicQueue, '-d', node, '-t', '5')).toEqual({ [node]: { ok: `no longer consuming from ${topicQueue}` } });
    expect(running.worker.consumedQueues().map((queue) => queue.name)).toEqual([base]);
  });

  it('replies an error when RabbitMQ refuses the declaration (PRECONDITION_FAILED), and goes on consuming its other queues', async () => {
    const { node, tasks, broker, worker } = running;
    await broker.declareQueue(celeryTaskQueue(refused, { maxPriority: 10 }));
    const replies = await celeryCliJson<{ error?: string }>('control', 'add_consumer', refused, '-d', node, '-t', '5');
    expect(replies[node].error).toMatch(/^QueueDeclarationError\('Could not declare queue "it-consumers-refused-\w+" .*PRECONDITION_FAILED/);
    expect(worker.consumedQueues().map((queue) => queue.name)).toEqual([base]);
    await running.app.get(CeleryClient).send('consumers.mark', ['after-refusal']);
    expect(await eventually(() => tasks.ranFrom.get('after-refusal'), 15_000, 'a task on the queue consumed since start')).toBe(base);
  });
});

/**
 * A queue added at run time is consumed under the same rules as those consumed since start, here
 * on the in-process broker (no other test file parks tasks in it): an ETA task held in the worker
 * widens the shared prefetch window; one due later than the threshold is parked in the delay levels.
 */
describe('a queue added at run time, on the in-process broker', () => {
  const base = uniqueName('it-consumers-memory');
  const added = uniqueName('it-consumers-memory-added');
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp(undefined, base, { concurrency: 1, etaParkThresholdSeconds: 5 });
  });

  afterAll(async () => {
    await running?.app.close();
  });

  it('is added and cancelled by the worker\'s own methods, which say whether anything changed', async () => {
    const { worker } = running;
    expect(await worker.addConsumer(added)).toBe(true);
    expect(await worker.addConsumer(added)).toBe(false);
    expect(await worker.cancelConsumer(added)).toBe(true);
    expect(await worker.cancelConsumer(added)).toBe(false);
    expect(worker.consumedQueues().map((queue) => queue.name)).toEqual([base]);
  });

  it('holds a task due soon and widens the prefetch window by one for it, and parks a task due after the threshold', async () => {
    const { worker, broker, tasks, app } = running;
    const celery = app.get(CeleryClient);
    expect(await celery.control.addConsumer(added, { destination: [running.node], reply: true, timeout: 5_000 })).toEqual([{ [running.node]: { ok: `add consumer ${added}` } }]);
    const basePrefetch = worker.prefetchCount;

    const soon = await celery.send('consumers.mark', ['due-soon'], { queue: added, countdown: 1 });
    await eventually(() => (worker.scheduledTasks().some((task) => task.id === soon.id) ? true : undefined), 5_000, 'the task due soon to be held');
    expect(worker.prefetchCount).toBe(basePrefetch + 1);
    expect(await eventually(() => tasks.ranFrom.get('due-soon'), 5_000, 'the held task at its ETA')).toBe(added);

    await celery.send('consumers.mark', ['due-later'], { queue: added, countdown: 3600 });
    const delayLevels = Array.from({ length: 28 }, (_, level) => `celery_delayed_${level}`);
    const parked = async () => {
      const depths = await Promise.all(delayLevels.map((level) => broker.queueDepth(level)));
      const total = depths.reduce<number>((sum, depth) => sum + (depth ?? 0), 0);
      return total === 1 ? total : undefined;
    };
    expect(await eventually(parked, 5_000, 'the far task parked in the delay levels')).toBe(1);
    expect(worker.scheduledTasks()).toEqual([]);
    expect(worker.prefetchCount).toBe(basePrefetch);
  });

  it('is refused once the worker stopped', async () => {
    await running.worker.stop();
    await expect(running.worker.addConsumer(uniqueName('too-late'))).rejects.toBeInstanceOf(WorkerNotConsumingError);
    await expect(running.worker.cancelConsumer(added)).rejects.toThrow(/is not consuming \(not started yet, or stopping\)/);
  });
});

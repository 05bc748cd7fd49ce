import { Redis } from 'ioredis';
import { RedisBroker } from '../../lib/broker/redis/redis-broker';
import { priorityLists } from '../../lib/broker/redis/kombu-redis-keys';
import { Bench, repeat } from '../support/bench-context';
import { onCleanup } from '../support/cleanup';
import { startProducer } from '../support/producer-app';
import { pythonEnvironment, runPythonScript, startNodeWorker, startPythonWorker, type WorkerProcess } from '../support/processes';
import { NOOP_TASK, noopMessage, pollUntil, uniqueName } from '../support/rabbit';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';
import { timeRate, WINDOW } from './publish';

const PUBLISH = '8. Redis: publish';
const DRAIN = '8. Redis: drain, no result';
const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * 8. Redis as broker (kombu's Redis transport): our send() beside Celery's apply_async, then
 * draining pre-queued no-op tasks with our worker beside Celery prefork -c 2 and solo on the same
 * Redis. Each run uses fresh queues; their lists and bindings are deleted afterwards.
 */
export async function redisScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const url = config.redisUrl;
  const broker = new RedisBroker({ url, logger: SILENT });
  await broker.connect();
  const redis = new Redis(url);
  const queues: string[] = [];
  const forget = async () => {
    for (const queue of queues.splice(0)) await redis.del(...priorityLists(queue), `_kombu.binding.${queue}`);
  };
  const release = onCleanup('the Redis queues and connections', async () => {
    await forget();
    await broker.close();
    redis.disconnect();
  });
  const freshQueue = (prefix: string) => {
    const queue = uniqueName(prefix);
    queues.push(queue);
    return queue;
  };
  try {
    const publishQueue = freshQueue('redis-publish');
    const producer = await startProducer(url, false);
    await producer.client.send(NOOP_TASK, [], { queue: publishQueue, ignoreResult: true });
    const ours = await repeat(config.repeats, async () => {
      await redis.del(...priorityLists(publishQueue));
      return timeRate(config.publishTasks, WINDOW, () => producer.client.send(NOOP_TASK, [], { queue: publishQueue }).then(() => undefined));
    });
    await producer.close();
    addRow(bench, { key: 'redis.publish.ours', scenario: PUBLISH, subject: 'nestjs-celery send()', unit: 'tasks/s', summary: summarize(ours) });
    if (config.pythonCelery) {
      const python = await repeat(config.repeats, async () => {
        await redis.del(...priorityLists(publishQueue));
        const { seconds, count } = await runPythonScript<{ seconds: number; count: number }>(
          config,
          'bench_publish.py',
          [publishQueue, String(config.pythonPublishTasks)],
          pythonEnvironment(config, '', true, url),
          300_000,
        );
        return count / seconds;
      });
      addRow(bench, { key: 'redis.publish.python', scenario: PUBLISH, subject: 'Celery apply_async', unit: 'tasks/s', summary: summarize(python) });
    }

    const subjects: { key: string; subject: string; total: number; start: (queue: string) => Promise<WorkerProcess> }[] = [
      {
        key: 'redis.drain.ours',
        subject: 'nestjs-celery worker (own process)',
        total: config.drainTasks,
        start: (queue) => startNodeWorker(config, { queue, backend: false, ignoreResult: true, brokerUrl: url }),
      },
    ];
    if (config.pythonCelery) {
      subjects.push(
        {
          key: 'redis.drain.python-prefork',
          subject: 'Celery -P prefork -c 2',
          total: config.pythonDrainTasks,
          start: (queue) => startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: '', ignoreResult: true, brokerUrl: url }),
        },
        {
          key: 'redis.drain.python-solo',
          subject: 'Celery -P solo',
          total: config.pythonDrainTasks,
          start: (queue) => startPythonWorker(config, { queue, pool: 'solo', resultBackend: '', ignoreResult: true, brokerUrl: url }),
        },
      );
    }
    for (const subject of subjects) {
      const rates = await repeat(config.repeats, async () => {
        const queue = freshQueue('redis-drain');
        await prequeue(broker, queue, subject.total);
        return measureRedisDrain(broker, queue, subject.total, () => subject.start(queue));
      });
      addRow(bench, { key: subject.key, scenario: DRAIN, subject: subject.subject, unit: 'tasks/s', summary: summarize(rates), note: `${subject.total} tasks` });
      await forget();
    }
  } finally {
    await release();
  }
}

/** Writes `count` no-op task messages (ignore_result) to the queue, a window at a time. */
async function prequeue(broker: RedisBroker, queue: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; ) {
    const batch = Math.min(WINDOW, count - sent);
    await Promise.all(Array.from({ length: batch }, () => broker.publish(noopMessage(queue, { ignoreResult: true }))));
    sent += batch;
  }
}

/** Tasks per second from the first message taken until the queue is empty (as bench/support/drain.ts, on LLEN). */
async function measureRedisDrain(broker: RedisBroker, queue: string, total: number, start: () => Promise<WorkerProcess>): Promise<number> {
  const starting = start();
  starting.catch(() => undefined);
  const depth = async () => (await broker.queueDepth(queue)) ?? 0;
  const startedAt = await pollUntil(async () => (await depth()) < total, 5, 300_000, `a worker to start draining ${queue}`);
  const finishedAt = await pollUntil(async () => (await depth()) === 0, 10, 300_000, `${total} tasks of ${queue} to be done`);
  const worker = await starting;
  await worker.stop();
  return total / ((finishedAt - startedAt) / 1000);
}

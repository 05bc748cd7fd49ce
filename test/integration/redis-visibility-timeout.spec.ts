import { INestApplicationContext } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CeleryClient } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { startSampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { uniqueName } from '../support/rabbitmq';
import { redisClient, redisUrl } from '../support/redis';

/**
 * Its own database: a 3-second visibility timeout restores every message of the database left
 * unacked that long, whoever holds it, so it must not meet the other specs' consumers.
 */
const DB = 9;
const VISIBILITY_TIMEOUT_SECONDS = 3;

/**
 * kombu's ack emulation on Redis: a worker process SIGKILLed in the middle of an acksLate task
 * leaves its message in the `unacked` hash, and once the visibility timeout has passed another
 * worker gives it back to the queue and runs it, marked redelivered.
 */
describe('a worker killed mid-task on the Redis broker', () => {
  const url = redisUrl(DB, `?visibility_timeout=${VISIBILITY_TIMEOUT_SECONDS}`);
  const plainUrl = redisUrl(DB);
  const queue = uniqueName('it-redis-vt');
  let redis: Redis;
  let producer: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    redis = await redisClient(DB);
    producer = await startCeleryApp({ broker: url, backend: url, defaultQueue: queue, worker: false });
    celery = producer.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    if (redis) {
      await redis.del(queue, `_kombu.binding.${queue}`);
      redis.disconnect();
    }
  });

  it('comes back to the queue after the visibility timeout and is completed by another worker', async () => {
    const env = { CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: url, CELERY_QUEUES: queue, CELERY_TASK_ACKS_LATE: 'true', CELERY_TASK_TRACK_STARTED: 'true' };
    const worker = startSampleProcess('main-worker', env);
    await worker.waitForOutput(/consuming/);
    const result = await celery.send('tasks.sleep', [2]);
    await eventually(async () => ((await result.state()) === 'STARTED' ? true : undefined), 20_000, `the task to start:\n${worker.output()}`);
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    // The dead worker's message is held in kombu's unacked hash, not in the queue.
    expect(await redis.hlen('unacked')).toBe(1);
    expect(await redis.llen(queue)).toBe(0);
    // When the dead worker received it, as kombu's index records it (seconds).
    const [, deliveredAt] = await redis.zrange('unacked_index', 0, 0, 'WITHSCORES');

    // The survivor restores it: its timeout comes from the option (the dead worker's came from the URL).
    const survivorOptions = { ...celeryOptionsFromEnvironment(env, { worker: true }), broker: { url: plainUrl, visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS } };
    const survivor = await startCeleryApp(survivorOptions, [], [TasksModule]);
    try {
      expect(await result.get({ timeout: 30_000 })).toBe(2);
      // Not before the visibility timeout had passed since that delivery.
      expect(Date.now() / 1000 - Number(deliveredAt)).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_SECONDS);
      // Acked by the survivor: nothing left in the hash (of this database of its own).
      await eventually(async () => ((await redis.hlen('unacked')) === 0 ? true : undefined), 10_000, 'the unacked hash to empty');
    } finally {
      await survivor.close();
    }
  }, 90_000);
});

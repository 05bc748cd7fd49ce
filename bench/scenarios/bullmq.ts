import { OUR_PREFETCH } from './drain-no-result';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Bench, repeat } from '../support/bench-context';
import { onCleanup } from '../support/cleanup';
import { createDatabase, lastResultId, successesAfter } from '../support/postgres';
import { startProducer } from '../support/producer-app';
import { startBullmqWorker, startCliWorker, startNodeWorker, startRawConsumer, type WorkerProcess } from '../support/processes';
import { pollUntil, uniqueName } from '../support/rabbit';
import { addRow } from '../support/report';
import { latencyPercentiles, summarize } from '../support/stats';
import { timeRate, WINDOW } from './publish';

const SCENARIO = '9. Beside BullMQ (add jobs, one worker, concurrency 10)';
const ADD = 'bench.add';
/** Jobs added per addBulk call, and our sendBulk's batch: the same for both. */
const BULK = 1_000;

/** A Redis database given as ioredis options (BullMQ takes options, not URLs). */
function redisOptions(url: string): { host: string; port: number; db: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379), db: Number(parsed.pathname.slice(1) || 0) };
}

/**
 * 9. Side by side with BullMQ (what a Nest team compares us with: @nestjs/bullmq), on the same
 * Redis, same machine, same payload (`add(x, y)`), one worker each with concurrency 10, every
 * subject taking its turn run by run: publish (its add and addBulk, our send and sendBulk), drain
 * of pre-queued jobs without and with results (its return values in Redis; ours in Redis, and on
 * RabbitMQ with PostgreSQL beside a raw amqplib consumer with our prefetch, the broker's own
 * ceiling here), round trip (its waitUntilFinished, our get(), trips taking turns), and worker memory with
 * `memoryTasks` queued.
 */
export async function bullmqScenario(bench: Bench): Promise<void> {
  await withBenchRedisDatabases(bench, async (flush) => {
    const bullConnection = redisOptions(bench.config.bullmqRedisUrl);
    await publishRows(bench, bullConnection);
    await drainRows(bench, bullConnection, flush);
    await roundTripRows(bench, bullConnection, flush);
    await memoryRows(bench, bullConnection);
  });
}

/**
 * Scenario 9's round-trip rows alone (`BENCH_ONLY=bullmq-round-trip`, never part of a full run:
 * `bullmq` has them), for checking the round-trip target in a minute.
 */
export async function bullmqRoundTripScenario(bench: Bench): Promise<void> {
  await withBenchRedisDatabases(bench, (flush) => roundTripRows(bench, redisOptions(bench.config.bullmqRedisUrl), flush));
}

/** Runs `rows` with a way to empty a Redis database, and empties BullMQ's and our results' databases afterwards (also on Ctrl-C). */
async function withBenchRedisDatabases(bench: Bench, rows: (flush: (url: string) => Promise<void>) => Promise<void>): Promise<void> {
  const { config } = bench;
  const flush = async (url: string) => {
    const redis = new Redis(url);
    await redis.flushdb();
    redis.disconnect();
  };
  const release = onCleanup('the BullMQ and Redis databases of the benchmark', async () => {
    for (const url of [config.bullmqRedisUrl, config.redisResultsUrl]) await flush(url).catch(() => undefined);
  });
  try {
    // Our broker's database too: scenario 8 shares it, and a Celery worker it stopped with
    // messages prefetched may leave records in its `unacked` hash, which our no-result drain
    // below waits to see empty (a run of 2026-12-07 waited out its 300 s on two of them).
    await flush(config.redisUrl);
    await rows(flush);
  } finally {
    await release();
  }
}

async function publishRows(bench: Bench, connection: ReturnType<typeof redisOptions>): Promise<void> {
  const { config } = bench;
  const count = config.publishTasks;
  const name = uniqueName('bullmq-publish');
  const queue = new Queue(name, { connection });
  const redisQueue = uniqueName('redis-publish');
  const producer = await startProducer(config.redisUrl, false);
  await producer.client.send(ADD, [0, 0], { queue: redisQueue, ignoreResult: true });
  const rates = { add: [] as number[], addBulk: [] as number[], send: [] as number[], sendBulk: [] as number[] };
  const emptyOurs = async () => {
    const redis = new Redis(config.redisUrl);
    await redis.del(redisQueue);
    redis.disconnect();
  };
  try {
    for (let run = 0; run < config.repeats; run++) {
      await queue.obliterate({ force: true });
      rates.add.push(await timeRate(count, WINDOW, () => queue.add('add', { x: 1, y: 2 }).then(() => undefined)));
      await queue.obliterate({ force: true });
      rates.addBulk.push(await bulkRate(count, (size) => queue.addBulk(Array.from({ length: size }, () => ({ name: 'add', data: { x: 1, y: 2 } }))).then(() => undefined)));
      await emptyOurs();
      rates.send.push(await timeRate(count, WINDOW, () => producer.client.send(ADD, [1, 2], { queue: redisQueue }).then(() => undefined)));
      await emptyOurs();
      rates.sendBulk.push(
        await bulkRate(count, async (size) => {
          const settled = await producer.client.sendBulk(ADD, Array.from({ length: size }, () => [1, 2]), { queue: redisQueue });
          if (settled.some((outcome) => outcome.status === 'rejected')) throw new Error('a bulk send was refused');
        }),
      );
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await emptyOurs();
    await producer.close();
  }
  const note = `${count.toLocaleString('en-US')} jobs, Redis`;
  addRow(bench, { key: 'bullmq.publish.add', scenario: SCENARIO, subject: 'BullMQ add(), 1,000 in flight', unit: 'jobs/s', summary: summarize(rates.add), note });
  addRow(bench, { key: 'bullmq.publish.addBulk', scenario: SCENARIO, subject: `BullMQ addBulk(), ${BULK} a call`, unit: 'jobs/s', summary: summarize(rates.addBulk), note });
  addRow(bench, { key: 'bullmq.publish.ours-send', scenario: SCENARIO, subject: 'nestjs-celery send(), 1,000 in flight', unit: 'tasks/s', summary: summarize(rates.send), note });
  addRow(bench, { key: 'bullmq.publish.ours-bulk', scenario: SCENARIO, subject: `nestjs-celery sendBulk(), ${BULK} a call`, unit: 'tasks/s', summary: summarize(rates.sendBulk), note });
}

/** Sends `count` in calls of BULK, one call at a time; returns items per second. */
async function bulkRate(count: number, sendBatch: (size: number) => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  for (let sent = 0; sent < count; sent += BULK) await sendBatch(Math.min(BULK, count - sent));
  return count / ((performance.now() - startedAt) / 1000);
}

/** One drain subject: how its queue is filled, its worker started, and when it is done. */
interface DrainSubject {
  key: string;
  subject: string;
  run(total: number): Promise<number>;
}

async function drainRows(bench: Bench, connection: ReturnType<typeof redisOptions>, flush: (url: string) => Promise<void>): Promise<void> {
  const { config, tools } = bench;
  const total = config.drainTasks;
  const bull = (keep: boolean): DrainSubject['run'] => async () => {
    const name = uniqueName(keep ? 'bullmq-results' : 'bullmq-drain');
    const queue = new Queue(name, { connection });
    try {
      for (let added = 0; added < total; added += BULK) {
        const size = Math.min(BULK, total - added);
        await queue.addBulk(Array.from({ length: size }, (_, index) => ({ name: 'add', data: { x: added + index, y: 1 }, opts: keep ? {} : { removeOnComplete: true } })));
      }
      const waiting = async () => (await queue.getJobCounts('wait', 'prioritized')).wait ?? 0;
      const done = async () => {
        const counts = await queue.getJobCounts('wait', 'active', 'completed', 'prioritized');
        return keep ? counts.completed === total : counts.wait === 0 && counts.active === 0;
      };
      return await measure(total, () => startBullmqWorker(name, connection), waiting, done);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  };
  const oursOnRedis = (results: boolean): DrainSubject['run'] => async () => {
    const queue = uniqueName(results ? 'redis-results' : 'redis-drain');
    const producer = await startProducer(config.redisUrl, false);
    const redis = new Redis(config.redisUrl);
    const resultDb = new Redis(config.redisResultsUrl);
    try {
      for (let sent = 0; sent < total; sent += BULK) {
        const size = Math.min(BULK, total - sent);
        await producer.client.sendBulk(ADD, Array.from({ length: size }, (_, index) => [sent + index, 1]), { queue, ignoreResult: !results });
      }
      await producer.close();
      const waiting = async () => redis.llen(queue);
      const done = results ? async () => (await resultDb.dbsize()) >= total : async () => (await redis.llen(queue)) === 0 && (await redis.hlen('unacked')) === 0;
      const start = () => startNodeWorker(config, { queue, backend: results ? config.redisResultsUrl : false, ignoreResult: !results, brokerUrl: config.redisUrl });
      return await measure(total, start, waiting, done);
    } finally {
      await redis.del(queue);
      redis.disconnect();
      resultDb.disconnect();
      if (results) await flush(config.redisResultsUrl);
    }
  };
  // One database for every run: results after the last row already there count (Celery's table names are fixed).
  const database = await createDatabase(config.postgresUrl, 'bullmq_pg');
  // One process (as `npm run start:worker` runs it) or the worker CLI's -P 2: two whole workers, each with prefetch 40.
  const oursOnRabbitWithPostgres = (processes: 1 | 2): DrainSubject['run'] => async () => {
    const queue = await tools.taskQueue('bullmq-pg');
    const before = await lastResultId(database);
    try {
      const producer = await startProducer(config.rabbitmqUrl, false);
      for (let sent = 0; sent < total; sent += BULK) {
        const size = Math.min(BULK, total - sent);
        await producer.client.sendBulk(ADD, Array.from({ length: size }, (_, index) => [sent + index, 1]), { queue });
      }
      await producer.close();
      const channel = await tools.channel();
      try {
        const waiting = async () => (await channel.checkQueue(queue)).messageCount;
        // Counting rows costs PostgreSQL CPU the drain needs (2 ms a poll at 20,000 rows): only once none is left to deliver.
        const done = async () => (await waiting()) === 0 && (await successesAfter(database, before)) >= total;
        const settings = { queue, backend: database.url, ignoreResult: false };
        return await measure(total, () => (processes === 1 ? startNodeWorker(config, settings) : startCliWorker(config, settings, processes)), waiting, done);
      } finally {
        await channel.close();
      }
    } finally {
      await tools.deleteQueue(queue);
    }
  };
  // RabbitMQ's ceiling here: one bare consumer process, or two (as many as our -P 2 row has), whichever drains faster.
  const rawConsumer = (processes: 1 | 2): DrainSubject['run'] => async () => {
    const queue = await tools.taskQueue('bullmq-raw');
    await tools.prequeue(queue, total, { ignoreResult: true });
    const channel = await tools.channel();
    try {
      // Our prefetch: concurrency 10 × worker_prefetch_multiplier 4, in each process.
      const start = async () => combined(await Promise.all(Array.from({ length: processes }, () => startRawConsumer(config, queue, OUR_PREFETCH))));
      return await measure(total, start, async () => (await channel.checkQueue(queue)).messageCount, async () => (await channel.checkQueue(queue)).messageCount === 0);
    } finally {
      await channel.close();
      await tools.deleteQueue(queue);
    }
  };
  const subjects: DrainSubject[] = [
    { key: 'bullmq.drain.bullmq', subject: 'BullMQ worker, no result (removeOnComplete)', run: bull(false) },
    { key: 'bullmq.drain.ours-redis', subject: 'nestjs-celery worker, Redis broker, no result', run: oursOnRedis(false) },
    { key: 'bullmq.results.bullmq', subject: 'BullMQ worker, return values kept in Redis', run: bull(true) },
    { key: 'bullmq.results.ours-redis', subject: 'nestjs-celery worker, Redis broker and results', run: oursOnRedis(true) },
    { key: 'bullmq.results.ours-rabbitmq-pg', subject: 'nestjs-celery worker, RabbitMQ + PostgreSQL results', run: oursOnRabbitWithPostgres(1) },
    { key: 'bullmq.results.ours-rabbitmq-pg-2p', subject: 'nestjs-celery worker CLI -P 2 (2 processes), RabbitMQ + PostgreSQL results', run: oursOnRabbitWithPostgres(2) },
    { key: 'bullmq.drain.raw-amqplib', subject: `raw amqplib consumer, prefetch ${OUR_PREFETCH} (RabbitMQ’s ceiling here)`, run: rawConsumer(1) },
    { key: 'bullmq.drain.raw-amqplib-2p', subject: `raw amqplib consumer, 2 processes, prefetch ${OUR_PREFETCH} each`, run: rawConsumer(2) },
  ];
  const rates = subjects.map(() => [] as number[]);
  // Taking turns run by run: a drift in the machine's load hits every subject alike.
  for (let run = 0; run < config.repeats; run++) {
    for (const [index, subject] of subjects.entries()) rates[index].push(await subject.run(total));
  }
  for (const [index, subject] of subjects.entries()) {
    addRow(bench, { key: subject.key, scenario: SCENARIO, subject: `drain: ${subject.subject}`, unit: 'tasks/s', summary: summarize(rates[index]), note: `${total.toLocaleString('en-US')} pre-queued` });
  }
}

/**
 * Jobs per second for a worker to drain `total` pre-queued ones: the clock starts when the queue
 * is first seen to shrink (start-up, which differs between workers, is left out) and stops when
 * `done` holds.
 */
/** Several processes measured as one subject: stopped together; the first one's pid and memory. */
function combined(processes: WorkerProcess[]): WorkerProcess {
  return {
    pid: processes[0].pid,
    memory: () => processes[0].memory(),
    log: () => processes.map((process) => process.log()).join('\n'),
    stop: async () => {
      await Promise.all(processes.map((process) => process.stop()));
    },
  };
}

async function measure(
  total: number,
  start: () => Promise<WorkerProcess>,
  waiting: () => Promise<number>,
  done: () => Promise<boolean>,
  beforeStop?: (worker: WorkerProcess) => void,
): Promise<number> {
  const starting = start();
  starting.catch(() => undefined);
  const startedAt = await pollUntil(async () => (await waiting()) < total, 5, 300_000, 'a worker to start draining');
  const finishedAt = await pollUntil(done, 10, 300_000, `${total} jobs to be done`);
  const worker = await starting;
  beforeStop?.(worker);
  await worker.stop();
  return total / ((finishedAt - startedAt) / 1000);
}

async function roundTripRows(bench: Bench, connection: ReturnType<typeof redisOptions>, flush: (url: string) => Promise<void>): Promise<void> {
  const { config } = bench;
  const trips = config.roundTrips;
  const bull = { p50: [] as number[], p99: [] as number[] };
  const ours = { p50: [] as number[], p99: [] as number[] };
  for (let run = 0; run < config.repeats; run++) {
    // Both subjects run at once and take turns trip by trip (who goes first alternates), so a load
    // spike on the shared machine hits both alike instead of whichever ran during it.
    const name = uniqueName('bullmq-rt');
    const bullQueue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection });
    const queue = uniqueName('redis-rt');
    let bullWorker: WorkerProcess | undefined;
    let ourWorker: WorkerProcess | undefined;
    let producer: Awaited<ReturnType<typeof startProducer>> | undefined;
    try {
      await events.waitUntilReady();
      bullWorker = await startBullmqWorker(name, connection);
      ourWorker = await startNodeWorker(config, { queue, backend: config.redisResultsUrl, ignoreResult: false, brokerUrl: config.redisUrl });
      producer = await startProducer(config.redisUrl, config.redisResultsUrl);
      const client = producer.client;
      const bullTrip = async (trip: number) => {
        const startedAt = performance.now();
        await (await bullQueue.add('add', { x: trip, y: 1 })).waitUntilFinished(events, 10_000);
        return performance.now() - startedAt;
      };
      const ourTrip = async (trip: number) => {
        const startedAt = performance.now();
        await (await client.send(ADD, [trip, 1], { queue })).get({ timeout: 10_000 });
        return performance.now() - startedAt;
      };
      await bullTrip(-1); // connections warm, as BullMQ's QueueEvents are
      await ourTrip(-1);
      const bullSamples: number[] = [];
      const ourSamples: number[] = [];
      for (let trip = 0; trip < trips; trip++) {
        if (trip % 2 === 0) {
          bullSamples.push(await bullTrip(trip));
          ourSamples.push(await ourTrip(trip));
        } else {
          ourSamples.push(await ourTrip(trip));
          bullSamples.push(await bullTrip(trip));
        }
      }
      for (const [samples, into] of [
        [bullSamples, bull],
        [ourSamples, ours],
      ] as const) {
        const { p50, p99 } = latencyPercentiles(samples);
        into.p50.push(p50);
        into.p99.push(p99);
      }
    } finally {
      await producer?.close();
      await ourWorker?.stop();
      await bullWorker?.stop();
      await events.close();
      await bullQueue.obliterate({ force: true }).catch(() => undefined);
      await bullQueue.close();
      const redis = new Redis(config.redisUrl);
      await redis.del(queue);
      redis.disconnect();
      await flush(config.redisResultsUrl);
    }
  }
  const note = `${trips} sequential each, trips alternating with the other subject's, Redis`;
  addRow(bench, { key: 'bullmq.rt.bullmq.p50', scenario: SCENARIO, subject: 'round trip p50: BullMQ add + waitUntilFinished', unit: 'ms', summary: summarize(bull.p50), note });
  addRow(bench, { key: 'bullmq.rt.bullmq.p99', scenario: SCENARIO, subject: 'round trip p99: BullMQ add + waitUntilFinished', unit: 'ms', summary: summarize(bull.p99), note });
  addRow(bench, { key: 'bullmq.rt.ours.p50', scenario: SCENARIO, subject: 'round trip p50: nestjs-celery send + get()', unit: 'ms', summary: summarize(ours.p50), note });
  addRow(bench, { key: 'bullmq.rt.ours.p99', scenario: SCENARIO, subject: 'round trip p99: nestjs-celery send + get()', unit: 'ms', summary: summarize(ours.p99), note });
}

async function memoryRows(bench: Bench, connection: ReturnType<typeof redisOptions>): Promise<void> {
  const { config } = bench;
  const total = config.memoryTasks;
  const bullPeak: number[] = [];
  const oursPeak: number[] = [];
  await repeat(config.repeats, async () => {
    const name = uniqueName('bullmq-memory');
    const queue = new Queue(name, { connection });
    try {
      for (let added = 0; added < total; added += BULK) {
        const size = Math.min(BULK, total - added);
        await queue.addBulk(Array.from({ length: size }, (_, index) => ({ name: 'add', data: { x: added + index, y: 1 }, opts: { removeOnComplete: true } })));
      }
      await measure(
        total,
        () => startBullmqWorker(name, connection),
        async () => (await queue.getJobCounts('wait')).wait ?? 0,
        async () => {
          const counts = await queue.getJobCounts('wait', 'active');
          return counts.wait === 0 && counts.active === 0;
        },
        (worker) => bullPeak.push(worker.memory().peakMiB),
      );
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    return 0;
  });
  await repeat(config.repeats, async () => {
    const queue = uniqueName('redis-memory');
    const producer = await startProducer(config.redisUrl, false);
    const redis = new Redis(config.redisUrl);
    try {
      for (let sent = 0; sent < total; sent += BULK) {
        const size = Math.min(BULK, total - sent);
        await producer.client.sendBulk(ADD, Array.from({ length: size }, (_, index) => [sent + index, 1]), { queue, ignoreResult: true });
      }
      await producer.close();
      await measure(
        total,
        () => startNodeWorker(config, { queue, backend: false, ignoreResult: true, brokerUrl: config.redisUrl }),
        async () => redis.llen(queue),
        async () => (await redis.llen(queue)) === 0 && (await redis.hlen('unacked')) === 0,
        (worker) => oursPeak.push(worker.memory().peakMiB),
      );
    } finally {
      await redis.del(queue);
      redis.disconnect();
    }
    return 0;
  });
  const note = `${total.toLocaleString('en-US')} queued, Redis`;
  addRow(bench, { key: 'bullmq.memory.bullmq', scenario: SCENARIO, subject: 'peak RSS of the worker: BullMQ', unit: 'MiB', summary: summarize(bullPeak), note });
  addRow(bench, { key: 'bullmq.memory.ours', scenario: SCENARIO, subject: 'peak RSS of the worker: nestjs-celery', unit: 'MiB', summary: summarize(oursPeak), note });
}

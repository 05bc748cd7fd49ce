import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient, PublishError } from '../../lib';
import { SampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { countRecordedRuns, createDrillFile, readRuns, reportCounts, startDrillWorker, storedStates } from '../support/fault-drill';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { startPrivateRabbitMq, PrivateRabbitMq } from '../support/private-rabbitmq';

const TASKS = 5_000;
const OUTAGE_MS = 5_000;
/** Slower than the producer sends (2 workers × 10 at a time: at most 200 tasks/s), so the workers have tasks in hand when the broker stops. */
const TASK_SECONDS = 0.1;
/** Short, so that sends made during the outage are reported within the test's time. */
const PUBLISH_TIMEOUT_MS = 3_000;

/**
 * Fault: RabbitMQ's application stopped and started (`rabbitmqctl stop_app` / `start_app`, on a
 * private node) while a producer sends 5,000 tasks and two worker processes consume them.
 * Producer and workers reconnect by themselves; every confirmed send completes; every send that
 * could not be confirmed is rejected to its caller (none is dropped silently).
 */
describe('fault: RabbitMQ stopped and started while 5,000 tasks are sent and consumed', () => {
  let rabbit: PrivateRabbitMq;
  let database: TestDatabase;
  let producer: INestApplicationContext;
  const drill = createDrillFile('rabbit');
  const workers: SampleProcess[] = [];
  const queue = 'faults-rabbit';

  beforeAll(async () => {
    [rabbit, database] = await Promise.all([startPrivateRabbitMq('faults'), createTestDatabase('faults_rabbit')]);
    producer = await startCeleryApp({
      broker: { url: rabbit.url, publishTimeoutMs: PUBLISH_TIMEOUT_MS, maxReconnectDelayMs: 1_000 },
      backend: database.url,
      defaultQueue: queue,
      worker: false,
    });
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await producer?.close().catch(() => undefined);
    await rabbit?.stop();
    await database?.drop();
    drill.remove();
  }, 120_000);

  it('producer and workers recover; every confirmed send completes, every unconfirmed one is reported', async () => {
    const settings = { broker: rabbit.url, backend: database.url, queue, drillFile: drill.path };
    workers.push(...(await Promise.all([startDrillWorker({ ...settings, hostname: 'one@%h' }), startDrillWorker({ ...settings, hostname: 'two@%h' })])));
    const celery = producer.get(CeleryClient);

    const confirmed = new Map<string, string>();
    const reported: Error[] = [];
    let outage: Promise<void> | undefined;
    let inFlightAtStop = { ready: 0, unacked: 0 };
    const queueDepth = async () => {
      const line = (await rabbit.ctl(['-q', '--no-table-headers', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged'])).split('\n').find((row) => row.startsWith(`${queue}\t`));
      const [, ready, unacked] = (line ?? '').split('\t');
      return { ready: Number(ready ?? 0), unacked: Number(unacked ?? 0) };
    };
    for (let start = 0; start < TASKS; start += 100) {
      if (!outage && confirmed.size >= 1_500) {
        // Down before the next batch goes out, so sends are made during the outage; back up meanwhile.
        inFlightAtStop = await queueDepth();
        await rabbit.stopApp();
        outage = new Promise((resolve) => setTimeout(resolve, OUTAGE_MS)).then(() => rabbit.startApp());
      }
      const keys = Array.from({ length: Math.min(100, TASKS - start) }, (_, index) => `t${start + index}`);
      const sends = await Promise.allSettled(keys.map((key) => celery.send('drill.record_run', [key, TASK_SECONDS], { taskId: `rabbit-${key}` })));
      sends.forEach((send, index) => {
        if (send.status === 'fulfilled') confirmed.set(send.value.id, keys[index]);
        else reported.push(send.reason as Error);
      });
    }
    await outage;
    for (const worker of workers) expect(worker.output()).toMatch(/Lost connection to RabbitMQ/);

    // Every send settled one way or the other; the failed ones with the library's PublishError.
    expect(confirmed.size + reported.length).toBe(TASKS);
    for (const error of reported) expect(error).toBeInstanceOf(PublishError);

    const ids = [...confirmed.keys()];
    await eventually(
      async () => ([...(await storedStates(database.url, ids)).values()].filter((state) => state === 'SUCCESS').length === ids.length ? true : undefined),
      180_000,
      'every confirmed task stored',
    );
    const counts = { ...(await countRecordedRuns(database.url, drill.path, confirmed)), sent: TASKS };
    // A send reported as failed may still have reached the queue (at-least-once): say how many ran.
    const runs = readRuns(drill.path);
    const reportedButRan = Array.from({ length: TASKS }, (_, index) => `t${index}`).filter((key) => !confirmed.has(`rabbit-${key}`) && runs.has(key)).length;
    reportCounts(`RabbitMQ stop_app ${OUTAGE_MS / 1000} s / start_app (acksLate, 2 workers)`, counts, `confirmed ${confirmed.size}, unconfirmed and reported to the caller ${reported.length} (${reportedButRan} of them ran anyway), queued at the stop ${inFlightAtStop.ready} + ${inFlightAtStop.unacked} unacked`);
    expect(inFlightAtStop.unacked).toBeGreaterThan(0); // the workers had tasks in hand when it stopped

    expect(counts.lost).toBe(0);
    expect(counts.stored).toBe(confirmed.size);
    expect(counts.completed).toBe(confirmed.size);
    // No worker died: no task of a confirmed send may run twice.
    expect(counts.duplicates).toBe(0);
  }, 400_000);
});

import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { SampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { countRecordedRuns, createDrillFile, readRuns, reportCounts, startDrillWorker, storedStates } from '../support/fault-drill';
import { startPrivatePostgres, PrivatePostgres } from '../support/private-postgres';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

const OUTAGE_MS = 4_000;

/**
 * Fault: PostgreSQL (a private cluster) stopped while workers are storing results. Results are
 * retried until the database is back and stored; with acksLate no message is acked before its
 * result is stored, which the second test proves by killing the workers during the outage.
 */
describe('fault: PostgreSQL restarted while results are written', () => {
  let postgres: PrivatePostgres;
  let producer: INestApplicationContext;
  const queues: string[] = [];
  const drills: { remove(): void }[] = [];
  const workers: SampleProcess[] = [];

  beforeAll(async () => {
    postgres = await startPrivatePostgres({ label: 'faults' });
    // The producer only sends: it must not depend on the database being fault-tested.
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: false, worker: false });
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await producer?.close();
    await deleteQueues(...queues);
    await deleteExchanges(...queues);
    await postgres?.stop();
    for (const drill of drills) drill.remove();
  }, 120_000);

  /** A queue, a drill file and `count` workers of one test's own. */
  async function setUp(label: string, count: number) {
    const queue = uniqueName(`faults-pg-${label}`);
    queues.push(queue);
    const drill = createDrillFile(`pg-${label}`);
    drills.push(drill);
    const start = (hostname: string) => startDrillWorker({ broker: RABBITMQ_URL, backend: postgres.url, queue, drillFile: drill.path, hostname });
    const started = await Promise.all(Array.from({ length: count }, (_, index) => start(`${label}${index}@%h`)));
    workers.push(...started);
    const send = async (tasks: number, seconds: number) => {
      const celery = producer.get(CeleryClient);
      const keysById = new Map<string, string>();
      for (let first = 0; first < tasks; first += 100) {
        const keys = Array.from({ length: Math.min(100, tasks - first) }, (_, index) => `${label}${first + index}`);
        const results = await Promise.all(keys.map((key) => celery.send('drill.record_run', [key, seconds], { queue })));
        results.forEach((result, index) => keysById.set(result.id, keys[index]));
      }
      return keysById;
    };
    const allStored = (keysById: Map<string, string>, timeoutMs: number) =>
      eventually(async () => ([...(await storedStates(postgres.url, [...keysById.keys()])).values()].filter((state) => state === 'SUCCESS').length === keysById.size ? true : undefined), timeoutMs, 'every result stored');
    return { drill, workers: started, start, send, allStored };
  }

  it('results written during the outage are retried and stored once it is back', async () => {
    const run = await setUp('restart', 2);
    const keysById = await run.send(1_000, 0.02);
    await eventually(() => (readRuns(run.drill.path).size >= 200 ? true : undefined), 120_000, '200 tasks run');
    await postgres.stopServer();
    const runsAtStop = readRuns(run.drill.path).size;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await postgres.startServer();

    await run.allStored(keysById, 180_000);
    const counts = await countRecordedRuns(postgres.url, run.drill.path, keysById);
    reportCounts(`PostgreSQL stopped ${OUTAGE_MS / 1000} s during 1,000 tasks (acksLate, 2 workers)`, counts);
    expect(runsAtStop).toBeLessThan(1_000); // the outage really was in the middle of the run
    // Stores are group-committed: a failed batch logs `Storing 12 task states (task … and others) failed …; retry n`.
    expect(run.workers.some((worker) => /Storing (the SUCCESS state of task|\d+ task states \(task) .* failed .*retry/.test(worker.output()))).toBe(true);
    expect(counts.lost).toBe(0);
    expect(counts.duplicates).toBe(0); // every store was retried to success: nothing ran twice
  }, 300_000);

  it('with acksLate, workers killed while their results cannot be stored lose nothing: those messages were not acked', async () => {
    const run = await setUp('unacked', 2);
    await postgres.stopServer();
    const keysById = await run.send(200, 0);
    // Runs finish but their results cannot be stored: the workers hold them, retrying.
    await eventually(() => (readRuns(run.drill.path).size >= 10 ? true : undefined), 60_000, 'tasks run during the outage');
    for (const worker of run.workers) worker.child.kill('SIGKILL');
    await Promise.all(run.workers.map((worker) => worker.exited));
    const finishedUnstored = readRuns(run.drill.path).size;
    await postgres.startServer();
    workers.push(await run.start('after@%h'));

    await run.allStored(keysById, 180_000);
    const counts = await countRecordedRuns(postgres.url, run.drill.path, keysById);
    reportCounts('PostgreSQL down, workers SIGKILLed with unstored results, then a new worker (acksLate)', counts, `finished before the kill but not stored ${finishedUnstored}`);
    expect(counts.lost).toBe(0);
    // Every run finished during the outage happened again: the messages had not been acked.
    expect(counts.duplicates).toBe(finishedUnstored);
  }, 300_000);
});

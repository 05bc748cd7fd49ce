import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { countRecordedRuns, createDrillFile, readRuns, reportCounts, startDrillWorker } from '../support/fault-drill';
import type { SampleProcess } from '../support/built-app';
import { type LocalSqsServer, sqsBrokerUrl, startLocalSqs } from '../support/local-sqs/local-sqs';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

const TASKS = 60;
/** Short, so the test waits for it; every task (0.2 s) finishes well within it. */
const VISIBILITY_TIMEOUT_SECONDS = 3;

/**
 * Fault: a worker on SQS killed with SIGKILL in the middle of acksLate tasks. SQS has no
 * connection to notice the death: the messages the worker had received stay invisible until
 * their visibility timeout ends, then a restarted worker receives them again (kombu's SQS
 * behaviour). Nothing is lost; a task runs twice only if the killed worker had finished it
 * without deleting its message.
 */
describe('fault: a worker on SQS killed with SIGKILL mid-task', () => {
  const drill = createDrillFile('sqs-sigkill');
  let sqs: LocalSqsServer;
  let env: TestEnvironment;
  let producer: INestApplicationContext;
  const workers: SampleProcess[] = [];
  let broker: string;

  beforeAll(async () => {
    sqs = await startLocalSqs();
    env = await createTestEnvironment('faults-sqs');
    broker = sqsBrokerUrl(sqs, { region: 'us-east-1', visibility_timeout: VISIBILITY_TIMEOUT_SECONDS, wait_time_seconds: 1, polling_interval: 0.1 });
    producer = await startCeleryApp({ broker, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
  }, 60_000);

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await producer?.close();
    await env?.dispose();
    await sqs?.close();
    drill.remove();
  }, 60_000);

  const startWorker = async (hostname: string) => {
    const worker = await startDrillWorker({ broker, backend: env.databaseUrl, queue: env.queue, drillFile: drill.path, hostname, concurrency: 4 });
    workers.push(worker);
    return worker;
  };

  it('gives the killed worker\'s messages back after the visibility timeout, and the restarted worker completes every task', async () => {
    const victim = await startWorker('victim@%h');
    const victimPid = victim.child.pid!;
    const celery = producer.get(CeleryClient);
    const keysById = new Map<string, string>();
    const results = await Promise.all(Array.from({ length: TASKS }, (_, index) => celery.send('drill.record_run', [`t${index}`, 0.2])));
    results.forEach((result, index) => keysById.set(result.id, `t${index}`));

    await eventually(() => ([...readRuns(drill.path).values()].filter((pids) => pids.includes(victimPid)).length >= 10 ? true : undefined), 60_000, 'the victim to run 10 tasks');
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await victim.exited).toBe('SIGKILL');
    // What it had received and not deleted is still invisible: nobody can take it yet.
    const held = sqs.counts(env.queue)!;
    expect(held.inFlight).toBeGreaterThan(0);

    await startWorker('restarted@%h');
    await eventually(() => (sqs.counts(env.queue)!.inFlight === 0 && sqs.counts(env.queue)!.visible === 0 ? true : undefined), 60_000, 'the held messages to come back and be taken');
    await eventually(async () => {
      const counts = await countRecordedRuns(env.databaseUrl, drill.path, keysById);
      return counts.stored === TASKS ? counts : undefined;
    }, 60_000, 'every result stored');
    const redeliveredAfterMs = Date.now() - killedAt;
    const counts = await countRecordedRuns(env.databaseUrl, drill.path, keysById);
    reportCounts(`SQS worker SIGKILL (acksLate, visibility timeout ${VISIBILITY_TIMEOUT_SECONDS} s, ${held.inFlight} messages held)`, counts, `all done ${redeliveredAfterMs} ms after the kill`);

    expect(counts.lost).toBe(0);
    expect(counts.completed).toBe(TASKS);
    // The held messages could not come back before their visibility timeout ended.
    expect(redeliveredAfterMs).toBeGreaterThanOrEqual((VISIBILITY_TIMEOUT_SECONDS - 1) * 1000);
    // A duplicate is a run the victim finished but could not delete: each has a victim run.
    for (const [, pids] of [...readRuns(drill.path).entries()].filter(([, pids]) => pids.length > 1)) expect(pids).toContain(victimPid);
    expect(counts.duplicates).toBeLessThanOrEqual(held.inFlight);
  }, 180_000);
});

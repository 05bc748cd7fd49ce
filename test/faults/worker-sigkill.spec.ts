import { CeleryClient } from '../../lib';
import { eventually } from '../support/celery-app';
import { countRecordedRuns, readRuns, reportCounts, storedStates, useFaultDrill } from '../support/fault-drill';

const TASKS = 1_000;

/**
 * Fault: a worker process killed with SIGKILL in the middle of 1,000 acksLate tasks. Its unacked
 * messages go back to the queue; the surviving worker and a restarted one complete every task.
 * A task may run twice only if the killed worker had finished it but not yet acked it.
 */
describe('fault: a worker killed with SIGKILL during 1,000 acksLate tasks', () => {
  const fault = useFaultDrill('sigkill');

  it('every task completes on the surviving or restarted worker, duplicates only from the killed one', async () => {
    const [victim] = await Promise.all([fault.startWorker('victim@%h'), fault.startWorker('survivor@%h')]);
    const victimPid = victim.child.pid!;
    const celery = fault.producer.get(CeleryClient);
    const keysById = new Map<string, string>();
    for (let start = 0; start < TASKS; start += 100) {
      const batch = Array.from({ length: Math.min(100, TASKS - start) }, (_, index) => `t${start + index}`);
      const results = await Promise.all(batch.map((key) => celery.send('drill.record_run', [key, 0.02])));
      results.forEach((result, index) => keysById.set(result.id, batch[index]));
    }

    // Kill the victim once it has finished a good part of its share, with tasks of its own in flight.
    await eventually(() => ([...readRuns(fault.drillFile).values()].filter((pids) => pids.includes(victimPid)).length >= 150 ? true : undefined), 120_000, 'the victim to run 150 tasks');
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    await fault.startWorker('restarted@%h');

    const ids = [...keysById.keys()];
    await eventually(async () => ([...(await storedStates(fault.env.databaseUrl, ids)).values()].filter((state) => state === 'SUCCESS').length === TASKS ? true : undefined), 180_000, 'every result stored');
    const counts = await countRecordedRuns(fault.env.databaseUrl, fault.drillFile, keysById);
    reportCounts('worker SIGKILL (acksLate, 2 workers + 1 restarted, concurrency 10)', counts);

    expect(counts.lost).toBe(0);
    expect(counts.completed).toBe(TASKS);
    // A duplicate is a run the victim finished but could not ack: at most its prefetch (10 × 4), each with a victim run.
    const runs = readRuns(fault.drillFile);
    const duplicated = [...runs.entries()].filter(([, pids]) => pids.length > 1);
    for (const [, pids] of duplicated) expect(pids).toContain(victimPid);
    expect(counts.duplicates).toBeLessThanOrEqual(40);
  }, 300_000);
});

import { CeleryClient } from '../../lib';
import { eventually } from '../support/celery-app';
import { countRecordedRuns, readRuns, reportCounts, storedStates, useFaultDrill } from '../support/fault-drill';

const TASKS = 200;
const TASK_SECONDS = 0.5;
/** The worker's shutdown timeout (worker.shutdownTimeoutMs default): the process must exit within it. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * Fault: SIGTERM to a worker process (the worker CLI) in the middle of a burst. Its running tasks
 * finish and are stored, what it had prefetched goes back to the queue for the next worker, and
 * it exits 0 within the shutdown timeout. With and without acksLate: without, the messages of
 * running tasks are already acked, so finishing them is the only way they are not lost.
 */
describe.each([true, false])('fault: SIGTERM during a burst (acksLate %s)', (acksLate) => {
  const fault = useFaultDrill('sigterm');

  it('running tasks finish, nothing in flight is lost, the process exits 0 within the shutdown timeout', async () => {
    const settings = { acksLate, viaCli: true };
    const first = await fault.startWorker('first@%h', settings);
    const celery = fault.producer.get(CeleryClient);
    const keysById = new Map<string, string>();
    const results = await Promise.all(Array.from({ length: TASKS }, (_, index) => celery.send('drill.record_run', [`k${index}`, TASK_SECONDS])));
    results.forEach((result, index) => keysById.set(result.id, `k${index}`));

    const pid = first.child.pid!;
    const runsBy = (wanted: number) => [...readRuns(fault.drillFile).values()].filter((pids) => pids.includes(wanted)).length;
    await eventually(() => (runsBy(pid) >= 25 ? true : undefined), 60_000, 'the first worker to finish 25 tasks');
    const ids = [...keysById.keys()];
    const stored = async () => [...(await storedStates(fault.env.databaseUrl, ids)).values()].filter((state) => state === 'SUCCESS').length;
    const storedAtSignal = await stored();
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const shutdownMs = Date.now() - signalledAt;
    expect(shutdownMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(first.output()).toMatch(/waiting up to 30000 ms for \d+ running task/);
    const finishedByFirst = runsBy(pid);
    // What it held at the signal, running or having its result stored (a slot stays taken until
    // then), was finished and stored there: counted in the table, since a task whose body had
    // already returned adds no run.
    expect(await stored()).toBeGreaterThan(storedAtSignal);

    await fault.startWorker('second@%h', settings);
    await eventually(async () => ([...(await storedStates(fault.env.databaseUrl, ids)).values()].filter((state) => state === 'SUCCESS').length === TASKS ? true : undefined), 120_000, 'every result stored');
    const counts = await countRecordedRuns(fault.env.databaseUrl, fault.drillFile, keysById);
    reportCounts(`SIGTERM during a burst (acksLate ${acksLate}, concurrency 10, ${TASK_SECONDS} s tasks)`, counts, `finished by the stopped worker ${finishedByFirst}, exit 0 after ${shutdownMs} ms`);
    expect(counts.lost).toBe(0);
    expect(counts.duplicates).toBe(0); // the tasks running at SIGTERM finished there and were not run again
    expect(counts.completed).toBe(TASKS);
  }, 240_000);
});

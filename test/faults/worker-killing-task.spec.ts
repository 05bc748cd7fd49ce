import { CeleryClient, TaskFailedError } from '../../lib';
import { eventually } from '../support/celery-app';
import { countRecordedRuns, reportCounts, storedStates, useFaultDrill } from '../support/fault-drill';

const GOOD_TASKS = 100;

/**
 * Fault: a poison message that kills its worker process every time (as an out-of-memory kill or
 * a native crash would), with acksLate. RabbitMQ hands its unacked message to the next worker
 * each time. With rejectOnWorkerLost true that worker runs it and dies too (the loop Celery warns
 * about); with false the next worker sees the run was lost, stores FAILURE (WorkerLostError),
 * acks the message and carries on with the other tasks.
 */
describe('fault: a task that kills its worker every time (acksLate)', () => {
  const fault = useFaultDrill('killer');

  const startWorker = (hostname: string, rejectOnWorkerLost: boolean) => fault.startWorker(hostname, { rejectOnWorkerLost, trackStarted: true });

  it('loops with rejectOnWorkerLost true; with false it ends in FAILURE (WorkerLostError) and the worker carries on', async () => {
    const celery = fault.producer.get(CeleryClient);
    const killer = await celery.send('drill.kill_worker');

    // rejectOnWorkerLost true: each worker that receives it runs it again and dies.
    for (const hostname of ['first@%h', 'second@%h']) {
      const worker = await startWorker(hostname, true);
      expect(await worker.exited).toBe('SIGKILL');
    }
    expect(await killer.state()).toBe('STARTED');

    // rejectOnWorkerLost false: the lost run is failed, not run again.
    const survivor = await startWorker('survivor@%h', false);
    await expect(killer.get({ timeout: 60_000 })).rejects.toThrow(TaskFailedError);
    const failure = (await killer.info())!;
    expect(failure.result).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' });
    // Logged once the FAILURE is stored (the settlement tells after storing), with the exception type.
    await survivor.waitForOutput(/drill\.kill_worker\[.*\] failed: WorkerLostError: Worker exited prematurely: second@\S+ was running this task/, 10_000);

    const keysById = new Map<string, string>();
    const results = await Promise.all(Array.from({ length: GOOD_TASKS }, (_, index) => celery.send('drill.record_run', [`good${index}`])));
    results.forEach((result, index) => keysById.set(result.id, `good${index}`));
    const ids = [...keysById.keys()];
    await eventually(async () => ([...(await storedStates(fault.env.databaseUrl, ids)).values()].filter((state) => state === 'SUCCESS').length === GOOD_TASKS ? true : undefined), 60_000, 'the other tasks');
    const counts = await countRecordedRuns(fault.env.databaseUrl, fault.drillFile, keysById);
    reportCounts('worker-killing task (acksLate; rejectOnWorkerLost true, true, then false)', counts, 'killed 2 workers, then FAILURE WorkerLostError');
    expect(counts.lost).toBe(0);
    expect(counts.duplicates).toBe(0);
    expect(survivor.child.exitCode).toBeNull(); // still running
  }, 240_000);
});

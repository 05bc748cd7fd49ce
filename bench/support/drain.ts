import type { PrequeueOptions, RabbitTools } from './rabbit';
import { pollUntil } from './rabbit';
import type { WorkerProcess } from './processes';

const DEPTH_POLL_MS = 5;
const DONE_POLL_MS = 10;

/**
 * Tasks per second for a worker to drain `total` pre-queued tasks. The clock starts when the
 * queue is first seen to shrink (so start-up time, which differs between workers, is left out)
 * and stops when `done` holds (by default: no ready message left).
 */
export async function measureDrain(options: {
  tools: RabbitTools;
  queue: string;
  total: number;
  startWorker: () => Promise<WorkerProcess>;
  done?: () => Promise<boolean>;
  timeoutMs?: number;
  /** Called every poll while draining, with the fraction done (for memory sampling). */
  onProgress?: (fraction: number) => void;
}): Promise<{ tasksPerSecond: number; worker: WorkerProcess }> {
  const { tools, queue, total } = options;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const channel = await tools.channel();
  try {
    const workerStarting = options.startWorker();
    workerStarting.catch(() => undefined);
    let depth = total;
    const startedAt = await pollUntil(
      async () => {
        depth = (await channel.checkQueue(queue)).messageCount;
        return depth < total;
      },
      DEPTH_POLL_MS,
      timeoutMs,
      `a worker to start draining ${queue}`,
    );
    // A subject's own check (counting result rows: 2 ms of PostgreSQL CPU a poll at 20,000 rows,
    // taken from the drain it measures) runs only once no message is left to deliver: none can be
    // done before that.
    const subjectDone = options.done;
    const done = subjectDone ? async () => depth === 0 && (await subjectDone()) : async () => depth === 0;
    const finishedAt = await pollUntil(
      async () => {
        depth = (await channel.checkQueue(queue)).messageCount;
        options.onProgress?.(1 - depth / total);
        return done();
      },
      DONE_POLL_MS,
      timeoutMs,
      `${total} tasks of ${queue} to be done`,
    );
    const worker = await workerStarting;
    return { tasksPerSecond: total / ((finishedAt - startedAt) / 1000), worker };
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** One column of a drain scenario: how to start its worker on a queue, and how to know it is done. */
export interface DrainSubject {
  key: string;
  subject: string;
  total: number;
  /** Set up per run (a database, a reply queue…); returns how to start the worker and when it is done. */
  prepare(queue: string): Promise<{ prequeue?: PrequeueOptions; start: () => Promise<WorkerProcess>; done?: () => Promise<boolean> }>;
}

/** Runs a drain subject `repeats` times on fresh queues; returns tasks/s of each run. */
export async function drainRuns(tools: RabbitTools, repeats: number, subject: DrainSubject, prefix: string): Promise<number[]> {
  const rates: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const queue = await tools.taskQueue(prefix);
    const plan = await subject.prepare(queue);
    await tools.prequeue(queue, subject.total, plan.prequeue);
    const { tasksPerSecond, worker } = await measureDrain({ tools, queue, total: subject.total, startWorker: plan.start, done: plan.done });
    await worker.stop();
    await tools.deleteQueue(queue);
    rates.push(tasksPerSecond);
  }
  return rates;
}

/**
 * Runs every subject `repeats` times, taking turns (A, B, C, A, B, C…) rather than all runs of one
 * subject then all of the next: on a machine whose load drifts, each subject sees the same
 * conditions, so the ratios between them stay fair. Returns tasks/s of each run, in subject order.
 */
export async function interleavedDrainRuns(tools: RabbitTools, repeats: number, subjects: DrainSubject[], prefix: string): Promise<number[][]> {
  const rates = subjects.map(() => [] as number[]);
  for (let run = 0; run < repeats; run++) {
    for (const [index, subject] of subjects.entries()) rates[index].push(...(await drainRuns(tools, 1, subject, prefix)));
  }
  return rates;
}

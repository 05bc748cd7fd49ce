import { Bench } from '../support/bench-context';
import { measureDrain } from '../support/drain';
import { startNodeWorker, WorkerProcess } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const SCENARIO = '6. Memory of our worker';

/**
 * 6. Our worker's resident memory (its process only) with `memoryTasks` waiting in its queue:
 * early in the drain (5% done, the rest still queued), late in the drain (95%), and the peak.
 */
export async function memoryScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const early: number[] = [];
  const late: number[] = [];
  const peak: number[] = [];
  const rates: number[] = [];
  for (let run = 0; run < config.repeats; run++) {
    const queue = await tools.taskQueue('memory');
    await tools.prequeue(queue, config.memoryTasks, { ignoreResult: true });
    let worker: WorkerProcess | undefined;
    let earlyMiB: number | undefined;
    let lateMiB: number | undefined;
    const { tasksPerSecond } = await measureDrain({
      tools,
      queue,
      total: config.memoryTasks,
      startWorker: async () => (worker = await startNodeWorker(config, { queue, backend: false, ignoreResult: true })),
      onProgress: (fraction) => {
        if (!worker) return;
        if (earlyMiB === undefined && fraction >= 0.05) earlyMiB = worker.memory().rssMiB;
        if (lateMiB === undefined && fraction >= 0.95) lateMiB = worker.memory().rssMiB;
      },
    });
    peak.push(worker!.memory().peakMiB);
    early.push(earlyMiB ?? Number.NaN);
    late.push(lateMiB ?? worker!.memory().rssMiB);
    rates.push(tasksPerSecond);
    await worker!.stop();
    await tools.deleteQueue(queue);
  }
  const note = `${config.memoryTasks.toLocaleString('en-US')} queued`;
  addRow(bench, { key: 'memory.early', scenario: SCENARIO, subject: 'RSS, 5% drained (rest waiting in the queue)', unit: 'MiB', summary: summarize(early), note });
  addRow(bench, { key: 'memory.late', scenario: SCENARIO, subject: 'RSS, 95% drained', unit: 'MiB', summary: summarize(late), note });
  addRow(bench, { key: 'memory.peak', scenario: SCENARIO, subject: 'peak RSS (VmHWM) over the whole run', unit: 'MiB', summary: summarize(peak), note });
  addRow(bench, { key: 'memory.rate', scenario: SCENARIO, subject: 'drain rate meanwhile', unit: 'tasks/s', summary: summarize(rates), note });
}

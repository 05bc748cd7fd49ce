import { Bench } from '../support/bench-context';
import { DrainSubject, interleavedDrainRuns } from '../support/drain';
import { startNodeWorker, startPythonWorker } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const SCENARIO = '13. Process pool';

/** SHA-256 rounds of a 64 KiB block per task: about 20 ms of CPU in either language (support/hash-work.ts). */
const HASH_ROUNDS = 400;

/**
 * 13. The process pool (issue #17 item 5): a CPU-bound task (≈ 20 ms of hashing, the same loop in
 * Python) drained by our process pool with 2 children and by Celery prefork -c 2 in the same run,
 * our event loop beside them for scale; then a trivial task drained by the process pool and the
 * in-process pool at the same concurrency (2), whose difference is the pool's cost per task
 * (IPC both ways, structured clone). No results stored: the rows measure the pools.
 */
export async function processPoolScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const cpuTasks = config.quick ? 100 : 400;
  const trivialTasks = config.quick ? 1_000 : 5_000;
  const hashing = { ignoreResult: true, task: 'bench.hash', args: [HASH_ROUNDS] };
  const trivial = { ignoreResult: true };
  const ours = (pool: 'inline' | 'process', prequeue: typeof hashing | typeof trivial) => async (queue: string) => ({
    prequeue,
    start: () => startNodeWorker(config, { queue, backend: false, ignoreResult: true, pool, concurrency: 2 }),
  });
  const cpuSubjects: DrainSubject[] = [
    { key: 'pool.cpu.process-2', subject: 'CPU task, nestjs-celery process pool, 2 children', total: cpuTasks, prepare: ours('process', hashing) },
    { key: 'pool.cpu.inline', subject: 'CPU task, nestjs-celery in-process pool (one event loop)', total: cpuTasks, prepare: ours('inline', hashing) },
  ];
  if (config.pythonCelery) {
    cpuSubjects.push({
      key: 'pool.cpu.python-prefork-2',
      subject: 'CPU task, Celery -P prefork -c 2',
      total: cpuTasks,
      prepare: async (queue) => ({ prequeue: hashing, start: () => startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: '', ignoreResult: true }) }),
    });
  }
  const trivialSubjects: DrainSubject[] = [
    { key: 'pool.noop.process-2', subject: 'trivial task, process pool, 2 children', total: trivialTasks, prepare: ours('process', trivial) },
    { key: 'pool.noop.inline-2', subject: 'trivial task, in-process pool, concurrency 2', total: trivialTasks, prepare: ours('inline', trivial) },
  ];
  const subjects = [...cpuSubjects, ...trivialSubjects];
  const rates = await interleavedDrainRuns(tools, config.repeats, subjects, 'pool');
  for (const [index, subject] of subjects.entries()) {
    addRow(bench, { key: subject.key, scenario: SCENARIO, subject: subject.subject, unit: 'tasks/s', summary: summarize(rates[index]), note: `${subject.total} tasks` });
  }
  // The pool's cost per task: the extra wall time per task, both at concurrency 2, from the medians.
  const median = (key: string) => summarize(rates[subjects.findIndex((subject) => subject.key === key)]).median;
  const overheadMs = (2 / median('pool.noop.process-2') - 2 / median('pool.noop.inline-2')) * 1000;
  bench.notes.push(`Process pool overhead per trivial task: ${overheadMs.toFixed(3)} ms of slot time (2 / tasks/s, process pool − in-process pool, at concurrency 2).`);
  process.stdout.write(`  ${bench.notes.at(-1)}\n`);
}

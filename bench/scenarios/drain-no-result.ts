import { Bench } from '../support/bench-context';
import { DrainSubject, interleavedDrainRuns } from '../support/drain';
import { startCliWorker, startNodeWorker, startPythonWorker, startRawConsumer } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

/** Our worker's default prefetch: concurrency 10 × prefetchMultiplier 4 (Celery's default). */
export const OUR_PREFETCH = 40;

const SCENARIO = '2. Drain, no result';

/** 2. Drain without results: our worker in one and in two processes, a raw amqplib consumer at the same prefetch, Python prefork -c 2 and solo. */
export async function drainNoResultScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const prequeue = { ignoreResult: true };
  const subjects: DrainSubject[] = [
    {
      key: 'drain.ours',
      subject: 'nestjs-celery worker (own process)',
      total: config.drainTasks,
      prepare: async (queue) => ({ prequeue, start: () => startNodeWorker(config, { queue, backend: false, ignoreResult: true }) }),
    },
    {
      key: 'drain.ours-2p',
      subject: 'nestjs-celery worker, 2 processes (worker CLI -P 2)',
      total: config.drainTasks,
      // Two whole workers of concurrency 10, each its own connection: Celery prefork -c 2's shape.
      prepare: async (queue) => ({ prequeue, start: () => startCliWorker(config, { queue, backend: false, ignoreResult: true }, 2) }),
    },
    {
      key: 'drain.raw',
      subject: `raw amqplib consumer, manual acks, prefetch ${OUR_PREFETCH}`,
      total: config.drainTasks,
      prepare: async (queue) => ({ prequeue, start: () => startRawConsumer(config, queue, OUR_PREFETCH) }),
    },
  ];
  if (config.pythonCelery) {
    subjects.push(
      {
        key: 'drain.python-prefork',
        subject: 'Celery -P prefork -c 2',
        total: config.pythonDrainTasks,
        prepare: async (queue) => ({
          prequeue,
          start: () => startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: '', ignoreResult: true }),
        }),
      },
      {
        key: 'drain.python-solo',
        subject: 'Celery -P solo',
        total: config.pythonDrainTasks,
        prepare: async (queue) => ({ prequeue, start: () => startPythonWorker(config, { queue, pool: 'solo', resultBackend: '', ignoreResult: true }) }),
      },
    );
  }
  const allRates = await interleavedDrainRuns(tools, config.repeats, subjects, 'drain');
  for (const [index, subject] of subjects.entries()) {
    const rates = allRates[index];
    const note = subject.key === 'drain.ours-2p' ? `${subject.total} tasks; 2 processes × -c 10, like prefork -c 2's 2 processes` : `${subject.total} tasks`;
    addRow(bench, { key: subject.key, scenario: SCENARIO, subject: subject.subject, unit: 'tasks/s', summary: summarize(rates), note });
  }
}

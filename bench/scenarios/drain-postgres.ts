import { Bench } from '../support/bench-context';
import { DrainSubject, interleavedDrainRuns } from '../support/drain';
import { createDatabase, lastResultId, successesAfter } from '../support/postgres';
import { startNodeWorker, startPythonWorker } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const SCENARIO = '3. Drain, results in PostgreSQL';

/** 3. Drain with every result stored in celery_taskmeta: our worker beside Python prefork -c 2 with the database backend. */
export async function drainPostgresScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const ourDatabase = await createDatabase(config.postgresUrl, 'drain_ours');
  const subjects: DrainSubject[] = [
    {
      key: 'drain-pg.ours',
      subject: 'nestjs-celery worker (own process)',
      total: config.resultDrainTasks,
      prepare: async (queue) => {
        const after = await lastResultId(ourDatabase);
        return {
          start: () => startNodeWorker(config, { queue, backend: ourDatabase.url, ignoreResult: false }),
          done: async () => (await successesAfter(ourDatabase, after)) >= config.resultDrainTasks,
        };
      },
    },
  ];
  if (config.pythonCelery) {
    const pythonDatabase = await createDatabase(config.postgresUrl, 'drain_python');
    subjects.push({
      key: 'drain-pg.python-prefork',
      subject: 'Celery -P prefork -c 2, database backend',
      total: config.pythonDrainTasks,
      prepare: async (queue) => {
        const after = await lastResultId(pythonDatabase);
        return {
          start: () =>
            startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: `db+${pythonDatabase.url}`, ignoreResult: false }),
          done: async () => (await successesAfter(pythonDatabase, after)) >= config.pythonDrainTasks,
        };
      },
    });
  }
  const allRates = await interleavedDrainRuns(tools, config.repeats, subjects, 'drainpg');
  for (const [index, subject] of subjects.entries()) {
    const rates = allRates[index];
    addRow(bench, { key: subject.key, scenario: SCENARIO, subject: subject.subject, unit: 'tasks/s', summary: summarize(rates), note: `${subject.total} tasks` });
  }
}

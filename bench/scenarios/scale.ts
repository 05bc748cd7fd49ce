import { NOOP_TASK } from '../support/rabbit';
import { Bench } from '../support/bench-context';
import { drainRuns } from '../support/drain';
import { BenchDatabase, createDatabase, lastResultId, seedResults, successesAfter } from '../support/postgres';
import { startNodeWorker } from '../support/processes';
import { startProducer } from '../support/producer-app';
import { addRow } from '../support/report';
import { latencyPercentiles, summarize } from '../support/stats';

const SCENARIO = '7. Scale: full result table';
const WARMUP = 20;

/** 7. get() latency and drain rate with PostgreSQL results, on an empty table and then with `scaleRows` rows already in it. */
export async function scaleScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const database = await createDatabase(config.postgresUrl, 'scale');
  const emptyLabel = 'empty table';
  await measure(bench, database, 'empty', emptyLabel);
  await seedResults(database, config.scaleRows);
  await measure(bench, database, 'full', `${config.scaleRows.toLocaleString('en-US')} rows`);
}

async function measure(bench: Bench, database: BenchDatabase, key: string, label: string): Promise<void> {
  const { config, tools } = bench;
  const queue = await tools.taskQueue('scale');
  const worker = await startNodeWorker(config, { queue, backend: database.url, ignoreResult: false });
  const producer = await startProducer(config.rabbitmqUrl, database.url);
  const p50s: number[] = [];
  for (let run = 0; run < config.repeats; run++) {
    const latencies: number[] = [];
    for (let index = 0; index < WARMUP + config.roundTrips; index++) {
      const startedAt = performance.now();
      await (await producer.client.send(NOOP_TASK, [], { queue })).get({ timeout: 30_000 });
      if (index >= WARMUP) latencies.push(performance.now() - startedAt);
    }
    p50s.push(latencyPercentiles(latencies).p50);
  }
  await producer.close();
  await worker.stop();
  addRow(bench, { key: `scale.rt-${key}`, scenario: SCENARIO, subject: `round trip p50, ${label}`, unit: 'ms', summary: summarize(p50s) });
  const rates = await drainRuns(
    tools,
    config.repeats,
    {
      key: `scale.drain-${key}`,
      subject: label,
      total: config.resultDrainTasks,
      prepare: async (drainQueue) => {
        const after = await lastResultId(database);
        return {
          start: () => startNodeWorker(config, { queue: drainQueue, backend: database.url, ignoreResult: false }),
          done: async () => (await successesAfter(database, after)) >= config.resultDrainTasks,
        };
      },
    },
    'scaledrain',
  );
  addRow(bench, { key: `scale.drain-${key}`, scenario: SCENARIO, subject: `drain with results, ${label}`, unit: 'tasks/s', summary: summarize(rates) });
}

import { NOOP_TASK } from '../support/rabbit';
import { Bench } from '../support/bench-context';
import { createDatabase } from '../support/postgres';
import { pythonEnvironment, runPythonScript, startNodeWorker, startPythonWorker } from '../support/processes';
import { startProducer } from '../support/producer-app';
import { addRow } from '../support/report';
import { latencyPercentiles, summarize } from '../support/stats';

const SCENARIO = '5. Round trip send → get()';
const WARMUP = 20;

/** 5. One no-op task at a time, send → get(): p50/p95/p99 with PostgreSQL and rpc://, ours beside Python's (each with its own worker). */
export async function roundTripScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  for (const backend of ['postgres', 'rpc'] as const) {
    const queue = await tools.taskQueue(`rt${backend}`);
    const url = backend === 'rpc' ? 'rpc://' : (await createDatabase(config.postgresUrl, 'rt_ours')).url;
    const worker = await startNodeWorker(config, { queue, backend: url, ignoreResult: false });
    const producer = await startProducer(config.rabbitmqUrl, url);
    const runs: { p50: number; p95: number; p99: number }[] = [];
    for (let run = 0; run < config.repeats; run++) {
      const latencies: number[] = [];
      for (let index = 0; index < WARMUP + config.roundTrips; index++) {
        const startedAt = performance.now();
        const result = await producer.client.send(NOOP_TASK, [], { queue });
        await result.get({ timeout: 30_000 });
        if (index >= WARMUP) latencies.push(performance.now() - startedAt);
      }
      runs.push(latencyPercentiles(latencies));
    }
    await producer.close();
    await worker.stop();
    addLatencyRows(bench, `rt-${backend}.ours`, `nestjs-celery client + worker, ${backend === 'rpc' ? 'rpc://' : 'PostgreSQL'}`, runs, `${config.roundTrips} trips`);

    if (!config.pythonCelery) continue;
    const pythonQueue = await tools.taskQueue(`rtpy${backend}`);
    const pythonUrl = backend === 'rpc' ? 'rpc://' : `db+${(await createDatabase(config.postgresUrl, 'rt_python')).url}`;
    const pythonWorker = await startPythonWorker(config, { queue: pythonQueue, pool: 'solo', resultBackend: pythonUrl, ignoreResult: false });
    const pythonRuns: { p50: number; p95: number; p99: number }[] = [];
    for (let run = 0; run < config.repeats; run++) {
      const { latenciesMs } = await runPythonScript<{ latenciesMs: number[] }>(
        config,
        'bench_round_trip.py',
        [pythonQueue, String(config.pythonRoundTrips), String(WARMUP)],
        pythonEnvironment(config, pythonUrl, false),
        300_000,
      );
      pythonRuns.push(latencyPercentiles(latenciesMs));
    }
    await pythonWorker.stop();
    addLatencyRows(bench, `rt-${backend}.python`, `Celery client get() + -P solo worker, ${backend === 'rpc' ? 'rpc://' : 'database backend'}`, pythonRuns, `${config.pythonRoundTrips} trips`);
  }
}

function addLatencyRows(bench: Bench, key: string, subject: string, runs: { p50: number; p95: number; p99: number }[], note: string): void {
  for (const p of ['p50', 'p95', 'p99'] as const) {
    addRow(bench, { key: `${key}.${p}`, scenario: SCENARIO, subject: `${subject} ${p}`, unit: 'ms', summary: summarize(runs.map((run) => run[p])), note });
  }
}

/**
 * `npm run bench`: runs every scenario (or those in BENCH_ONLY=publish,drain,…), prints the
 * table, checks the issue's targets on this run's numbers, and writes bench/results/latest.json
 * and latest.md. Everything created is removed at the end, on failure and on Ctrl-C too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config';
import { bullmqRoundTripScenario, bullmqScenario } from './scenarios/bullmq';
import { drainNoResultScenario } from './scenarios/drain-no-result';
import { drainPostgresScenario } from './scenarios/drain-postgres';
import { drainRpcScenario } from './scenarios/drain-rpc';
import { memoryScenario } from './scenarios/memory';
import { millionScenario } from './scenarios/million';
import { publishScenario } from './scenarios/publish';
import { redisScenario } from './scenarios/redis';
import { roundTripScenario } from './scenarios/round-trip';
import { scaleScenario } from './scenarios/scale';
import { startUpScenario } from './scenarios/start-up';
import { beatScenario } from './scenarios/beat';
import { processPoolScenario } from './scenarios/process-pool';
import { sqsScenario } from './scenarios/sqs';
import { Bench } from './support/bench-context';
import { cleanupAll } from './support/cleanup';
import { RabbitTools } from './support/rabbit';
import { benchChartSvg } from './support/chart';
import { markdownTable, targetsTable } from './support/report';
import { checkTargets } from './targets';

const SCENARIOS: [string, (bench: Bench) => Promise<void>][] = [
  ['publish', publishScenario],
  ['drain', drainNoResultScenario],
  ['drain-pg', drainPostgresScenario],
  ['drain-rpc', drainRpcScenario],
  ['round-trip', roundTripScenario],
  ['memory', memoryScenario],
  ['scale', scaleScenario],
  ['redis', redisScenario],
  ['bullmq', bullmqScenario],
  ['bullmq-round-trip', bullmqRoundTripScenario],
  ['start-up', startUpScenario],
  ['million', millionScenario],
  ['beat', beatScenario],
  ['process-pool', processPoolScenario],
  ['sqs', sqsScenario],
];

/** Parts of another scenario, run only when BENCH_ONLY names them (a full run has them already). */
const NAMED_ONLY = new Set(['bullmq-round-trip']);

/** Where results go: bench/results in the sources, whether run from dist/ or not. */
const RESULTS_DIR = join(__dirname, '..', '..', 'bench', 'results');

async function main(): Promise<number> {
  const config = loadConfig();
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, load average ${loadavg()[0].toFixed(2)} at start`;
  process.stdout.write(`nestjs-celery benchmark${config.quick ? ' (quick mode)' : ''} on ${machine}\n`);
  const bench: Bench = { config, tools: await RabbitTools.open(config.rabbitmqUrl), rows: [], notes: [] };
  if (!config.pythonCelery) {
    bench.notes.push(`Python Celery not found at ${config.python} (import celery, sqlalchemy, psycopg2 failed): the Python columns are skipped.`);
    process.stdout.write(`NOTE: ${bench.notes[0]}\n`);
  }
  const startedAt = Date.now();
  let failed = false;
  for (const [name, scenario] of SCENARIOS) {
    if (only ? !only.includes(name) : NAMED_ONLY.has(name)) continue;
    process.stdout.write(`\n[${name}]\n`);
    const scenarioStart = Date.now();
    try {
      await scenario(bench);
    } catch (error) {
      failed = true;
      const message = `Scenario ${name} failed: ${(error as Error).message.split('\n')[0]}`;
      bench.notes.push(message);
      process.stderr.write(`${message}\n${(error as Error).stack ?? ''}\n`);
    }
    await cleanupAll(); // each scenario starts from a clean broker and server
    bench.tools = await RabbitTools.open(config.rabbitmqUrl);
    process.stdout.write(`  (${((Date.now() - scenarioStart) / 1000).toFixed(0)} s)\n`);
  }
  const durationSeconds = Math.round((Date.now() - startedAt) / 1000);
  const targets = checkTargets(bench.rows, config);
  const markdown = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}; ${durationSeconds} s in all${config.quick ? ', quick mode' : ''}.`,
    `Each row: median of ${config.repeats} run(s), min–max beside it. Ratios compare medians of this same run.`,
    '',
    markdownTable(bench.rows),
    '',
    targetsTable(targets),
    ...(bench.notes.length > 0 ? ['', ...bench.notes.map((note) => `- ${note}`)] : []),
    '',
  ].join('\n');
  process.stdout.write(`\n${markdown}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const suffix = process.env.BENCH_RESULTS_NAME ?? 'latest';
  writeFileSync(join(RESULTS_DIR, `${suffix}.md`), markdown);
  writeFileSync(
    join(RESULTS_DIR, `${suffix}.json`),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, durationSeconds, config: { ...config }, rows: bench.rows, targets, notes: bench.notes }, null, 2)}\n`,
  );
  writeFileSync(join(RESULTS_DIR, `${suffix}.svg`), benchChartSvg(bench.rows, machine, new Date().toISOString().slice(0, 10)));
  process.stdout.write(`Written to ${join(RESULTS_DIR, `${suffix}.md`)}, .json and .svg (the chart)\n`);
  return failed ? 1 : 0;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: cleaning up…\n`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  })
  .catch(async (error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await cleanupAll();
    process.exit(1);
  });

import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CeleryTask } from '../../lib';
import { CeleryTestingModule } from '../../lib/testing';
import { Bench } from '../support/bench-context';
import { createDatabase } from '../support/postgres';
import { PYTHON_DIR, pythonEnvironment, readMemory } from '../support/processes';
import { pollUntil } from '../support/rabbit';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const SCENARIO = '10. Start-up: process start to consuming';
const WORKER_CLI = join(__dirname, '..', '..', '..', 'bin', 'nestjs-celery-worker');

/**
 * 10. How long a worker takes from its process starting to consuming its queue — what a restart,
 * a deploy or an autoscaler waits for: our worker CLI beside `celery worker` (prefork -c 2, its
 * default pool), each timed the same way, from spawn() until RabbitMQ shows a consumer on the
 * queue (a passive declare every 5 ms). Neither runs Mingle (the Python workers of the benchmark
 * run --without-mingle), so no one waits a second for other nodes. And our worker's RSS once idle
 * on an empty queue, with no result backend and with PostgreSQL results (TypeORM and pg loaded),
 * beside the floor under both: a Nest app context with an empty module and an amqplib consumer.
 */
export async function startUpScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const ours: number[] = [];
  const python: number[] = [];
  for (let run = 0; run < config.repeats; run++) {
    ours.push(
      await timeToConsumer(bench, (queue) => spawnOurWorker(bench, queue, false)),
    );
    if (!config.pythonCelery) continue;
    python.push(
      await timeToConsumer(bench, (queue) =>
        spawn(config.python, ['-m', 'celery', '-A', 'bench_tasks', 'worker', '-P', 'prefork', '-c', '2', '-Q', queue, '-n', `${queue}@%h`, '--without-mingle', '--without-gossip', '-l', 'warning'], {
          cwd: PYTHON_DIR,
          env: { ...process.env, ...pythonEnvironment(config, '', true) },
          stdio: 'ignore',
          detached: true,
        }),
      ),
    );
  }
  const idle = { ours: [] as IdleRss[], postgres: [] as IdleRss[], floor: [] as IdleRss[] };
  const database = await createDatabase(config.postgresUrl, 'idle');
  for (let run = 0; run < config.repeats; run++) {
    // Side by side: each sits idle for IDLE_SETTLED_SECONDS, and idle processes do not disturb each other's RSS.
    const [ours, postgres, floor] = await Promise.all([
      idleRss(bench, (queue) => spawnOurWorker(bench, queue, false)),
      idleRss(bench, (queue) => spawnOurWorker(bench, queue, database.url)),
      idleRss(bench, (queue) => spawnNestFloor(bench, queue)),
    ]);
    idle.ours.push(ours);
    idle.postgres.push(postgres);
    idle.floor.push(floor);
  }
  const testing: number[] = [];
  for (let run = 0; run < Math.max(config.repeats, 5); run++) testing.push(await testingModuleStartUp());
  addRow(bench, { key: 'start-up.testing-module', scenario: SCENARIO, subject: 'CeleryTestingModule compile + init (eager, one task)', unit: 'ms', summary: summarize(testing) });
  addRow(bench, { key: 'start-up.ours', scenario: SCENARIO, subject: 'nestjs-celery-worker (Nest app, RabbitMQ)', unit: 'ms', summary: summarize(ours) });
  if (config.pythonCelery) addRow(bench, { key: 'start-up.python', scenario: SCENARIO, subject: 'celery worker -P prefork -c 2', unit: 'ms', summary: summarize(python) });
  const settled = `${IDLE_SETTLED_SECONDS} s after consuming, after V8's memory reducer`;
  const early = `${IDLE_EARLY_SECONDS} s after consuming, before V8's memory reducer gave back start-up's heap`;
  const idleRow = (key: string, subject: string, values: IdleRss[]) => {
    addRow(bench, { key, scenario: SCENARIO, subject, unit: 'MiB', summary: summarize(values.map((value) => value.settled)), note: settled });
    addRow(bench, { key: `${key}-early`, scenario: SCENARIO, subject, unit: 'MiB', summary: summarize(values.map((value) => value.early)), note: early });
  };
  idleRow('start-up.idle-rss', 'idle worker RSS, no result backend', idle.ours);
  idleRow('start-up.idle-rss-postgres', 'idle worker RSS, PostgreSQL results', idle.postgres);
  idleRow('start-up.idle-rss-nest-floor', 'floor: idle Nest app context (empty module) + amqplib consumer, no nestjs-celery', idle.floor);
}

/**
 * When an idle process's RSS is read. Early: its start-up over (garbage collected, the code cache
 * written). Settled: after V8's memory reducer, which a few seconds into a quiet spell runs the
 * GCs that give the heap start-up grew back to the system (sampled each second for 45 s, the drop
 * of 9–16 MiB came 9–17 s after consuming, and the RSS stayed within 0.3 MiB after it): what a
 * worker waiting for work holds.
 */
const IDLE_EARLY_SECONDS = 6;
const IDLE_SETTLED_SECONDS = 40;

interface IdleRss {
  early: number;
  settled: number;
}

/** RSS of a process `start` spawns on a queue, IDLE_EARLY_SECONDS and IDLE_SETTLED_SECONDS after it consumes that empty queue. */
async function idleRss(bench: Bench, start: (queue: string) => import('node:child_process').ChildProcess): Promise<IdleRss> {
  const rss = { early: 0, settled: 0 };
  await timeToConsumer(bench, start, async (child) => {
    const readRss = () => readMemory(child.pid!).rssMiB;
    await new Promise((resolve) => setTimeout(resolve, IDLE_EARLY_SECONDS * 1000));
    rss.early = readRss();
    await new Promise((resolve) => setTimeout(resolve, (IDLE_SETTLED_SECONDS - IDLE_EARLY_SECONDS) * 1000));
    rss.settled = readRss();
  });
  return rss;
}

/** Our worker CLI with the benchmark's minimal app (bench/worker-module.ts) on `queue`. */
function spawnOurWorker(bench: Bench, queue: string, backend: false | string): import('node:child_process').ChildProcess {
  return spawn(process.execPath, [WORKER_CLI, '--module', join(__dirname, '..', 'worker-module.js'), '--export', 'BenchWorkerModule', '-Q', queue, '-l', 'warning'], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify({ brokerUrl: bench.config.rabbitmqUrl, queue, backend, ignoreResult: backend === false }) },
    stdio: 'ignore',
  });
}

/** The floor of the idle rows (bench/nest-floor-process.ts): Nest and amqplib, without nestjs-celery. */
function spawnNestFloor(bench: Bench, queue: string): import('node:child_process').ChildProcess {
  return spawn(process.execPath, [join(__dirname, '..', 'nest-floor-process.js')], {
    env: { ...process.env, BENCH_NEST_FLOOR: JSON.stringify({ brokerUrl: bench.config.rabbitmqUrl, queue }) },
    stdio: 'ignore',
  });
}

/** Milliseconds from spawning the worker until its queue has a consumer; the worker is then stopped and the queue removed. */
async function timeToConsumer(
  bench: Bench,
  start: (queue: string) => import('node:child_process').ChildProcess,
  whileConsuming?: (child: import('node:child_process').ChildProcess) => Promise<void>,
): Promise<number> {
  const { tools } = bench;
  const queue = await tools.taskQueue('start-up');
  const channel = await tools.channel();
  const startedAt = performance.now();
  const child = start(queue);
  try {
    const consumingAt = await pollUntil(async () => (await channel.checkQueue(queue)).consumerCount > 0, 5, 60_000, `a worker to consume ${queue}`);
    await whileConsuming?.(child);
    return consumingAt - startedAt;
  } finally {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      if (child.spawnargs[0] === process.execPath) child.kill('SIGTERM');
      else process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone already
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    await channel.close().catch(() => undefined);
    await tools.deleteQueue(queue);
  }
}

@Injectable()
class TestedTasks {
  @CeleryTask({ name: 'tasks.add' })
  add(x: number, y: number): number {
    return x + y;
  }
}

/**
 * Milliseconds a unit test waits for nestjs-celery/testing's module: compile and init, as a spec's
 * beforeEach does (issue #14 asks for under 200 ms; the embedded PGlite it replaced took 4–11 s).
 * The first run pays for loading the modules, as a spec file's first test does.
 */
async function testingModuleStartUp(): Promise<number> {
  const startedAt = performance.now();
  const moduleRef = await Test.createTestingModule({ imports: [CeleryTestingModule.forRoot({ alwaysEager: true })], providers: [TestedTasks] })
    .setLogger({ log() {}, error() {}, warn() {} })
    .compile();
  await moduleRef.init();
  const elapsed = performance.now() - startedAt;
  await moduleRef.close();
  return elapsed;
}

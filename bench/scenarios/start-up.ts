import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CeleryTask } from '../../lib';
import { CeleryTestingModule } from '../../lib/testing';
import { Bench } from '../support/bench-context';
import { PYTHON_DIR, pythonEnvironment } from '../support/processes';
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
 * run --without-mingle), so no one waits a second for other nodes.
 */
export async function startUpScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const ours: number[] = [];
  const python: number[] = [];
  for (let run = 0; run < config.repeats; run++) {
    ours.push(
      await timeToConsumer(bench, (queue) =>
        spawn(process.execPath, [WORKER_CLI, '--module', join(__dirname, '..', 'worker-module.js'), '--export', 'BenchWorkerModule', '-Q', queue, '-l', 'warning'], {
          env: { ...process.env, BENCH_WORKER: JSON.stringify({ brokerUrl: config.rabbitmqUrl, queue, backend: false, ignoreResult: true }) },
          stdio: 'ignore',
        }),
      ),
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
  const testing: number[] = [];
  for (let run = 0; run < Math.max(config.repeats, 5); run++) testing.push(await testingModuleStartUp());
  addRow(bench, { key: 'start-up.testing-module', scenario: SCENARIO, subject: 'CeleryTestingModule compile + init (eager, one task)', unit: 'ms', summary: summarize(testing) });
  addRow(bench, { key: 'start-up.ours', scenario: SCENARIO, subject: 'nestjs-celery-worker (Nest app, RabbitMQ)', unit: 'ms', summary: summarize(ours) });
  if (config.pythonCelery) addRow(bench, { key: 'start-up.python', scenario: SCENARIO, subject: 'celery worker -P prefork -c 2', unit: 'ms', summary: summarize(python) });
}

/** Milliseconds from spawning the worker until its queue has a consumer; the worker is then stopped and the queue removed. */
async function timeToConsumer(bench: Bench, start: (queue: string) => import('node:child_process').ChildProcess): Promise<number> {
  const { tools } = bench;
  const queue = await tools.taskQueue('start-up');
  const channel = await tools.channel();
  const startedAt = performance.now();
  const child = start(queue);
  try {
    const consumingAt = await pollUntil(async () => (await channel.checkQueue(queue)).consumerCount > 0, 5, 60_000, `a worker to consume ${queue}`);
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

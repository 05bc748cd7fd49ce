import { INestApplicationContext } from '@nestjs/common';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CeleryClient } from '../../lib';
import { ClusterMonitor } from '../../lib/monitoring/cluster-monitor';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const CLI = join(ROOT, 'bin', 'nestjs-celery-worker');
/** Modules whose options are written in their code: they read none of the flags (test/support/plain-worker-module.js). */
const PLAIN_MODULE = join('test', 'support', 'plain-worker-module.js');

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The worker CLI's flags reach any module: applied where options become settings, not read by the module. */
describe('nestjs-celery-worker on a module that reads none of its flags', () => {
  let env: TestEnvironment;
  let producer: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-cli-flags');
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    celery = producer.get(CeleryClient);
  });

  afterAll(async () => {
    await producer?.close();
    await env?.dispose();
  });

  /** The plain module, connected to this test's broker and database, named `plain-<queue>@%h` unless -n says otherwise. */
  function startPlain(exportName: string, flags: string[], extra: Record<string, string> = {}): SampleProcess {
    return startNodeProcess([CLI, '--module', PLAIN_MODULE, '--export', exportName, ...flags], {
      PLAIN_BROKER_URL: RABBITMQ_URL,
      PLAIN_RESULT_BACKEND: env.databaseUrl,
      PLAIN_NODE_NAME: `plain-${env.queue}@%h`,
      ...extra,
    });
  }

  it('applies -Q -c -n -E -l info over the options written in the module: banner, remote control, task lines', async () => {
    const node = `flags-${env.queue}@${hostname()}`;
    const cli = startPlain('PlainWorkerModule', ['-Q', env.queue, '-c', '3', '-n', `flags-${env.queue}@%h`, '-E', '-l', 'info']);
    try {
      await cli.waitForOutput(new RegExp(`Worker ${escape(node)} consuming ${env.queue} on `));
      // The banner, once, with what the flags said.
      const banner = cli.output();
      expect(banner.split(`-------------- ${node} v`)).toHaveLength(2);
      expect(banner).toContain('.> app:         PlainWorkerModule (test/support/plain-worker-module.js)\n');
      expect(banner).toContain('.> transport:   amqp://guest:***@');
      expect(banner).toContain('.> concurrency: 3 (event loop)\n');
      expect(banner).toContain('.> task events: ON\n');
      expect(banner).toContain(`.> ${env.queue.padEnd(16)} exchange=${env.queue}(direct) key=${env.queue}\n`);
      expect(banner).toContain('[tasks]\n  . plain.add\n  . plain.fail\n');
      expect(banner).not.toContain('plain-module-queue');

      // Remote control sees the same worker.
      const inspect = celery.control.inspect({ destination: [node], timeout: 3_000 });
      expect((await inspect.stats())[node].pool['max-concurrency']).toBe(3);
      expect((await inspect.activeQueues())[node].map((queue) => queue.name)).toEqual([env.queue]);

      // Celery's INFO lines at -l info; a failure at ERROR with its exception type, and no INFO line for it.
      const sum = await celery.send('plain.add', [2, 3]);
      expect(await sum.get({ timeout: 10_000 })).toBe(5);
      await cli.waitForOutput(new RegExp(`Task plain\\.add\\[${sum.id}\\] received`));
      await cli.waitForOutput(new RegExp(`Task plain\\.add\\[${sum.id}\\] succeeded in \\d[\\d.e-]*s: 5\\n`));
      const failed = await celery.send('plain.fail', ['bad input']);
      await failed.get({ timeout: 10_000, propagate: false });
      await cli.waitForOutput(new RegExp(`ERROR \\[Celery\\] Task plain\\.fail\\[${failed.id}\\] raised: TypeError: bad input`));
      expect(cli.output()).not.toMatch(new RegExp(`LOG \\[Celery\\] Task plain\\.fail\\[${failed.id}\\] (succeeded|FAILURE)`));

      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it("at the default level, Celery's warning: the banner without the task list, no per-task line, a failure's ERROR line", async () => {
    const node = `quiet-${env.queue}@${hostname()}`;
    const cli = startPlain('PlainWorkerModule', ['-Q', env.queue, '-n', `quiet-${env.queue}@%h`]);
    try {
      await cli.waitForOutput(new RegExp(`-------------- ${escape(node)} v[\\s\\S]*\\[queues\\]\\n.*exchange=${env.queue}`));
      const sum = await celery.send('plain.add', [1, 1]);
      expect(await sum.get({ timeout: 10_000 })).toBe(2);
      const failed = await celery.send('plain.fail', ['quietly']);
      await failed.get({ timeout: 10_000, propagate: false });
      await cli.waitForOutput(new RegExp(`Task plain\\.fail\\[${failed.id}\\] raised: TypeError: quietly`));
      const output = cli.output();
      expect(output).toContain('.> concurrency: 1 (event loop)\n'); // the module's own
      expect(output).toContain('.> task events: OFF (enable -E to monitor tasks in this worker)\n');
      expect(output).not.toContain('[tasks]');
      expect(output).not.toMatch(/received|succeeded|mingle|consuming/);
      cli.child.kill('SIGINT');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming why when the module runs no worker, so the flags cannot apply', async () => {
    const producerOnly = startPlain('ProducerOnlyModule', ['-Q', env.queue, '-c', '2']);
    expect(await producerOnly.exited).toBe(1);
    expect(producerOnly.output()).toContain(
      'nestjs-celery-worker: cannot start: ProducerOnlyModule (test/support/plain-worker-module.js): it runs no worker: Producer only (worker: false), so -Q, -c cannot apply. ' +
        'A worker needs CeleryModule.forRoot() options without worker: false and at least one @CeleryTask() method in the app',
    );

    const noTasks = startPlain('NoTasksModule', []);
    expect(await noTasks.exited).toBe(1);
    expect(noTasks.output()).toContain('cannot start: NoTasksModule (test/support/plain-worker-module.js): it runs no worker: Producer only: no @CeleryTask() methods found. A worker needs');

    const noCelery = startPlain('NoCeleryModule', ['-n', 'x@%h']);
    expect(await noCelery.exited).toBe(1);
    expect(noCelery.output()).toContain('cannot start: NoCeleryModule (test/support/plain-worker-module.js): it started no CeleryModule (nothing from nestjs-celery reported in), so -n cannot apply');
  });

  it("runs the module's beat in the worker with -B only (celery worker -B), and says what to add when the module has none", async () => {
    // Without -B the worker fires nothing, though its module has a beat option.
    const plain = startPlain('PlainBeatModule', ['-Q', env.queue, '-l', 'info'], { PLAIN_BEAT_QUEUE: env.queue });
    try {
      await plain.waitForOutput(/consuming/);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // the schedule is every second: nothing to wait for
      expect(plain.output()).not.toContain('and a beat');
      expect(plain.output()).not.toMatch(/Task plain\.add\[/);
      plain.child.kill('SIGTERM');
      expect(await plain.exited).toBe(0);
    } finally {
      plain.child.kill('SIGKILL');
    }

    const withBeat = startPlain('PlainBeatModule', ['-Q', env.queue, '-B', '-l', 'info'], { PLAIN_BEAT_QUEUE: env.queue });
    try {
      await withBeat.waitForOutput(/Worker for 2 task\(s\) and a beat/);
      await withBeat.waitForOutput(/Task plain\.add\[[^\]]+\] succeeded in \d[\d.e-]*s: 3\n/);
      withBeat.child.kill('SIGTERM');
      expect(await withBeat.exited).toBe(0);
    } finally {
      withBeat.child.kill('SIGKILL');
    }

    const noBeat = startPlain('PlainWorkerModule', ['-Q', env.queue, '--beat']);
    expect(await noBeat.exited).toBe(1);
    expect(noBeat.output()).toContain(
      "nestjs-celery-worker: cannot start: PlainWorkerModule (test/support/plain-worker-module.js): -B (--beat) runs the module's beat in the worker, but its CeleryModule has no beat option. " +
        "Add beat: { schedule: { 'name': { task: 'tasks.add', schedule: 30 } } } to CeleryModule.forRoot() (its tables live in the PostgreSQL result backend, or give beat.url; see docs/BEAT.md), or start without -B",
    );
  });

  it('says how to run a TypeScript module file (exit 2, bad usage)', async () => {
    const cli = startNodeProcess([CLI, '--module', 'src/worker.module.ts', '-Q', 'jobs'], {});
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain(
      'nestjs-celery-worker: --module src/worker.module.ts is TypeScript, which node does not load: build the app first (tsc, nest build) and pass the compiled file, ' +
        'e.g. --module dist/worker.module.js, or start the CLI under a TypeScript loader that hooks require(), e.g. node -r ts-node/register node_modules/.bin/nestjs-celery-worker --module src/worker.module.ts',
    );
  });

  it("with -P 2, each child is a node of its own, named from the module's node name: banner, supervisor, remote control and events agree", async () => {
    const nodes = [1, 2].map((index) => `plain-${env.queue}-${index}@${hostname()}`);
    const monitor = producer.get(ClusterMonitor);
    await monitor.start();
    const cli = startPlain('PlainWorkerModule', ['-Q', env.queue, '-P', '2', '-E']);
    try {
      for (const [index, node] of nodes.entries()) {
        await cli.waitForOutput(new RegExp(`^\\[${index + 1}:\\d+\\]  -------------- ${escape(node)} v`, 'm'), 60_000);
        await cli.waitForOutput(new RegExp(`worker process ${index + 1} \\(pid \\d+\\) ready as ${escape(node)}\\n`), 60_000);
      }
      const pinged = Object.assign({}, ...(await celery.control.ping({ destination: nodes, timeout: 3_000 })));
      expect(Object.keys(pinged).sort()).toEqual(nodes);
      // Worker events (online, heartbeats) and task events come under the same names.
      await eventually(() => (nodes.every((node) => monitor.state.worker(node)?.online) ? true : undefined), 20_000, 'both children heard by their events');
      const results = await Promise.all(Array.from({ length: 6 }, (_, index) => celery.send('plain.add', [index, 1])));
      expect(await Promise.all(results.map((result) => result.get({ timeout: 20_000 })))).toEqual([1, 2, 3, 4, 5, 6]);
      const workersOfTasks = await eventually(() => {
        const seen = results.map((result) => monitor.state.task(result.id)?.worker);
        return seen.every((worker) => typeof worker === 'string') ? new Set(seen) : undefined;
      }, 20_000, 'the task events');
      for (const worker of workersOfTasks) expect(nodes).toContain(worker);
      expect(cli.output()).not.toContain('already using this process mailbox');
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
      await monitor.stop();
    }
  });
});

import { INestApplicationContext } from '@nestjs/common';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { CeleryClient } from '../../lib';
import { ROOT, SampleProcess, startNodeProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const CLI = join(ROOT, 'bin', 'nestjs-celery-worker');
const SAMPLE_WORKER = ['--module', 'dist/sample-app/src/worker.module.js', '--export', 'WorkerModule'];

/** The pid of child `index` from the supervisor's log prefix `[index:pid] `, the newest one. */
function childPids(cli: SampleProcess, index: number): number[] {
  return [...new Set([...cli.output().matchAll(new RegExp(`^\\[${index}:(\\d+)\\] `, 'gm'))].map((match) => Number(match[1])))];
}

/** The worker CLI's multi-process mode (--processes): a supervisor over whole workers, against real RabbitMQ and PostgreSQL. */
describe('nestjs-celery-worker --processes', () => {
  it('exits 2 with a clear usage error on a bad process count', async () => {
    for (const value of ['-1', 'x', '1.5', 'prefork']) {
      const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-P', value], {});
      expect(await cli.exited).toBe(2);
      expect(cli.output()).toContain(`-P/--processes needs a number of processes (a positive whole number, or 0 or auto for one per core), got "${value}"`);
      expect(cli.output()).toContain('Usage: nestjs-celery-worker --module');
    }
  });

  it('exits 1 with the reason when the worker processes cannot start', async () => {
    const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '--processes', '2'], { CELERY_BROKER_URL: 'zmq://127.0.0.1:6379' });
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/^\[1:\d+\] nestjs-celery-worker: cannot start: Unsupported broker URL/m);
    expect(cli.output()).toContain('could not start');

    // auto (and 0): one per core, as os.availableParallelism() counts them.
    const cores = availableParallelism();
    const auto = startNodeProcess([CLI, ...SAMPLE_WORKER, '--processes', 'auto'], { CELERY_BROKER_URL: 'zmq://127.0.0.1:6379' });
    expect(await auto.exited).toBe(1);
    if (cores > 1) expect(auto.output()).toContain(`starting ${cores} worker processes`);
    else expect(auto.output()).not.toContain('worker processes');
  });

  it('takes a Ctrl-C that reaches the supervisor and its children at once as one warm shutdown', async () => {
    const env = await createTestEnvironment('it-procs-int');
    const producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    const name = `procs-${env.queue}`;
    const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-Q', env.queue, '-n', `${name}@%h`, '-P', '2', '-l', 'info'], {
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
      CELERY_TASK_TRACK_STARTED: 'true',
    });
    try {
      for (const index of [1, 2]) await cli.waitForOutput(new RegExp(`Worker ${name}-${index}@\\S+ consuming`), 60_000);
      const celery = producer.get(CeleryClient);
      const results = await Promise.all(Array.from({ length: 4 }, () => celery.send('tasks.sleep', [2])));
      for (const result of results) await eventually(async () => ((await result.info())?.status === 'STARTED' ? true : undefined), 30_000, 'the task to start');
      // What a terminal does on Ctrl-C (and systemd with KillMode=control-group): every process gets the
      // signal. Here the supervisor's request arrives first, the harder order: the children's own
      // signal then comes while they are already stopping, and must not count as a second one.
      cli.child.kill('SIGINT');
      for (const index of [1, 2]) await cli.waitForOutput(new RegExp(`^\\[${index}:\\d+\\] .*supervisor asked for a warm shutdown`, 'm'));
      for (const index of [1, 2]) process.kill(childPids(cli, index)[0], 'SIGINT');
      expect(await cli.exited).toBe(0);
      expect(cli.output()).not.toContain('cold shutdown');
      for (const result of results) expect(await result.get({ timeout: 10_000 })).toBe(2);
    } finally {
      cli.child.kill('SIGKILL');
      await producer.close();
      await env.dispose();
    }
  });

  it('leaves a child down after a remote shutdown of its node, and exits 0 once every node was shut down', async () => {
    const env = await createTestEnvironment('it-procs-rs');
    const producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
    const name = `procs-${env.queue}`;
    const nodes = [1, 2].map((index) => `${name}-${index}@${hostname()}`);
    const cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-Q', env.queue, '-n', `${name}@%h`, '-P', '2', '-l', 'info'], {
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
    });
    try {
      for (const node of nodes) await cli.waitForOutput(new RegExp(`Worker ${node.replace(/[.]/g, '\\.')} consuming`), 60_000);
      const celery = producer.get(CeleryClient);
      // Each node's mailbox is bound before it logs "consuming" (a startup step of the worker); both
      // nodes answering a ping still checks that they will hear the shutdown before it is sent.
      await eventually(async () => {
        const answered = await celery.control.ping({ destination: nodes, timeout: 1_000 });
        return Object.keys(Object.assign({}, ...answered)).length === 2 ? true : undefined;
      }, 30_000, 'both nodes answering a ping');
      await celery.control.shutdown({ destination: [nodes[0]] });
      await cli.waitForOutput(/worker process 1 \(pid \d+\) was shut down remotely; it stays down/, 30_000);
      // Past the 1 s a crashed child waits before its restart: still only node 2 answers, and works.
      const result = await celery.send('tasks.add', [2, 3]);
      expect(await result.get({ timeout: 30_000 })).toBe(5);
      const answered = await celery.control.ping({ destination: nodes, timeout: 2_000 });
      expect(Object.keys(Object.assign({}, ...answered))).toEqual([nodes[1]]);
      expect(cli.output()).not.toContain('restarting it');

      await celery.control.shutdown({ destination: [nodes[1]] });
      expect(await cli.exited).toBe(0);
      expect(cli.output()).toContain('all 2 worker processes stopped');
    } finally {
      cli.child.kill('SIGKILL');
      await producer.close();
      await env.dispose();
    }
  }, 90_000);

  describe('with two processes', () => {
    let env: TestEnvironment;
    let producer: INestApplicationContext;
    let celery: CeleryClient;
    let cli: SampleProcess;
    let nodes: string[];

    beforeAll(async () => {
      env = await createTestEnvironment('it-procs');
      producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
      celery = producer.get(CeleryClient);
      // Unique per run: the broker is shared, and remote control reaches every node of it.
      const name = `procs-${env.queue}`;
      nodes = [`${name}-1@${hostname()}`, `${name}-2@${hostname()}`];
      cli = startNodeProcess([CLI, ...SAMPLE_WORKER, '-Q', env.queue, '-c', '4', '-n', `${name}@%h`, '-P', '2', '-l', 'info'], {
        CELERY_BROKER_URL: RABBITMQ_URL,
        CELERY_RESULT_BACKEND: env.databaseUrl,
      });
      for (const node of nodes) await cli.waitForOutput(new RegExp(`Worker ${node.replace(/[.]/g, '\\.')} consuming`), 60_000);
    });

    afterAll(async () => {
      cli?.child.kill('SIGKILL');
      await producer?.close();
      await env?.dispose();
    });

    const pingedNodes = async () => Object.keys(Object.assign({}, ...(await celery.control.ping({ destination: nodes, timeout: 3_000 })))).sort();

    it('answers a ping from both node names, and spreads the tasks over both processes', async () => {
      expect(await pingedNodes()).toEqual(nodes);
      const results = await Promise.all(Array.from({ length: 16 }, () => celery.send('tasks.sleep', [0.3])));
      for (const result of results) expect(await result.get({ timeout: 30_000 })).toBe(0.3);
      for (const index of [1, 2]) {
        const ran = results.filter((result) => new RegExp(`^\\[${index}:\\d+\\] .*Task tasks\\.sleep\\[${result.id}\\] succeeded`, 'm').test(cli.output()));
        expect(ran.length).toBeGreaterThan(0);
      }
    });

    it('restarts a child that was killed, and tasks keep flowing', async () => {
      const [killed] = childPids(cli, 1);
      process.kill(killed, 'SIGKILL');
      await cli.waitForOutput(new RegExp(`worker process 1 \\(pid ${killed}\\) died unexpectedly \\(signal SIGKILL\\); restarting it in 1 s`));
      const restarted = await eventually(() => childPids(cli, 1).find((pid) => pid !== killed), 60_000, 'a new child 1');
      await cli.waitForOutput(new RegExp(`^\\[1:${restarted}\\] .*Worker ${nodes[0].replace(/[.]/g, '\\.')} consuming`, 'm'), 60_000);
      await eventually(async () => ((await pingedNodes()).length === 2 ? true : undefined), 30_000, 'both nodes answering');
      const results = await Promise.all(Array.from({ length: 8 }, (_, index) => celery.send('tasks.add', [index, 1])));
      expect(await Promise.all(results.map((result) => result.get({ timeout: 30_000 })))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('on SIGTERM lets the running tasks of every process finish, stores their results and exits 0', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => celery.send('tasks.sleep', [2])));
      // Both processes are running some of them before the signal.
      await eventually(async () => {
        const active = await celery.control.inspect({ destination: nodes, timeout: 2_000 }).active();
        const running = nodes.map((node) => active[node]?.length ?? 0);
        return running.every((count) => count > 0) && running[0] + running[1] === results.length ? true : undefined;
      }, 30_000, 'all tasks running, in both processes');
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      expect(cli.output()).toContain('SIGTERM received: warm shutdown of 2 worker processes');
      expect(cli.output()).toContain('all 2 worker processes stopped');
      for (const result of results) expect(await result.get({ timeout: 10_000 })).toBe(2);
    });
  });
});

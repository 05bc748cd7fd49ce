import { INestApplicationContext } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CeleryClient, TaskState } from '../../lib';
import { DEFAULT_WORKER_OPTIONS } from '../../lib/worker/worker-options';
import { ROOT, startNodeProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** The [Service] settings of a unit file (the last value of a key wins, as in systemd). */
function serviceSettings(unitFile: string): Record<string, string> {
  const settings: Record<string, string> = {};
  let section = '';
  for (const line of readFileSync(unitFile, 'utf8').split('\n').map((text) => text.trim())) {
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]' && line && !line.startsWith('#')) {
      const index = line.indexOf('=');
      settings[line.slice(0, index)] = line.slice(index + 1);
    }
  }
  return settings;
}

/** KEY=VALUE lines of an EnvironmentFile. */
function environmentFile(path: string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  return Object.fromEntries(entries);
}

/** ExecStart as systemd runs it for instance `instance`: specifiers (%i, %%) and ${VAR} expanded, split into words. */
function execStartArguments(execStart: string, env: Record<string, string>, instance: string): string[] {
  return execStart
    .split(/\s+/)
    .map((word) => word.replace(/%(.)/g, (_, specifier: string) => (specifier === 'i' ? instance : specifier === '%' ? '%' : `%${specifier}`)))
    .map((word) => word.replace(/\$\{(\w+)\}/g, (_, name: string) => env[name] ?? ''));
}

describe('deploy/nestjs-celery-worker@.service', () => {
  const unit = serviceSettings(join(ROOT, 'deploy', 'nestjs-celery-worker@.service'));
  let env: TestEnvironment;
  let producer: INestApplicationContext;

  beforeAll(async () => {
    env = await createTestEnvironment('it-systemd');
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
  });

  afterAll(async () => {
    await producer?.close();
    await env?.dispose();
  });

  it('stops with SIGTERM, restarts on failure, and gives the warm shutdown time to finish', () => {
    expect(unit.KillSignal).toBe('SIGTERM');
    expect(unit.Restart).toBe('on-failure');
    // The worker's shutdown timeout, plus up to 10 s closing connections, plus a margin.
    expect(Number(unit.TimeoutStopSec)).toBeGreaterThanOrEqual(DEFAULT_WORKER_OPTIONS.shutdownTimeoutMs / 1000 + 10);
  });

  it('runs its ExecStart line; on SIGTERM mid-task the task finishes, its result is stored, and the process exits 0 in time', async () => {
    const fileEnv = environmentFile(join(ROOT, 'deploy', 'worker.env.example'));
    // This test's own queue and database instead of the example's; STARTED stored, to know the task is running.
    const serviceEnv = { ...fileEnv, CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_TASK_TRACK_STARTED: 'true' };
    const [node, bin, ...args] = execStartArguments(unit.ExecStart, serviceEnv, '7');
    expect(node).toBe('/usr/bin/node');
    // npm links the package's bin there in the application that depends on it.
    expect(bin).toBe('node_modules/.bin/nestjs-celery-worker');
    expect(args).toContain('worker7@%h');

    const worker = startNodeProcess([join(ROOT, 'bin', 'nestjs-celery-worker'), ...args], serviceEnv, 'nestjs-celery-worker@7');
    try {
      await worker.waitForOutput(new RegExp(`Worker worker7@\\S+ consuming ${env.queue}`));
      const sleeping = await producer.get(CeleryClient).send('tasks.sleep', [3]);
      await eventually(async () => ((await sleeping.info())?.status === TaskState.STARTED ? true : undefined), 10_000, 'the task to start');

      const stoppedAt = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(Number(unit.TimeoutStopSec) * 1000);
      expect(worker.output()).toMatch(new RegExp(`Task tasks\\.sleep\\[${sleeping.id}\\] succeeded in 3\\.\\d+s: 3\\n`));
      const stored = await sleeping.info();
      expect(stored).toMatchObject({ status: TaskState.SUCCESS, result: 3 });
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('with --processes 2 added to ExecStart, as its comment says: SIGTERM to the main process only (KillMode=mixed) stops both children warmly', async () => {
    expect(unit.KillMode).toBe('mixed');
    const fileEnv = environmentFile(join(ROOT, 'deploy', 'worker.env.example'));
    const serviceEnv = { ...fileEnv, CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_TASK_TRACK_STARTED: 'true' };
    const [, , ...args] = execStartArguments(unit.ExecStart, serviceEnv, '8');
    const worker = startNodeProcess([join(ROOT, 'bin', 'nestjs-celery-worker'), ...args, '--processes', '2'], serviceEnv, 'nestjs-celery-worker@8 -P 2');
    try {
      for (const index of [1, 2]) await worker.waitForOutput(new RegExp(`Worker worker8-${index}@\\S+ consuming ${env.queue}`), 60_000);
      const celery = producer.get(CeleryClient);
      const sleeping = await Promise.all([celery.send('tasks.sleep', [3]), celery.send('tasks.sleep', [3])]);
      for (const result of sleeping) {
        await eventually(async () => ((await result.info())?.status === TaskState.STARTED ? true : undefined), 10_000, 'the task to start');
      }
      const stoppedAt = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(Number(unit.TimeoutStopSec) * 1000);
      for (const result of sleeping) expect(await result.info()).toMatchObject({ status: TaskState.SUCCESS, result: 3 });
    } finally {
      worker.child.kill('SIGKILL');
    }
  });
});

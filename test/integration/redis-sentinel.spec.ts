import { INestApplicationContext } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CeleryClient } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { eventually, startCeleryApp } from '../support/celery-app';
import { runInteropClient } from '../support/python-worker';
import { uniqueName } from '../support/rabbitmq';
import { freeLocalPort } from '../support/redis';

/**
 * Celery's `sentinel://` URLs, against a Redis and a Sentinel this test starts for itself (with
 * `redis-server`, whose `--sentinel` mode needs no other package): our worker and client find the
 * master through the Sentinel, and a Python Celery 5.2.6 client configured the Celery way
 * (`broker_transport_options = {'master_name': …}`) runs a task on our worker.
 */
describe('Redis through Sentinel (sentinel://)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestjs-celery-sentinel-'));
  const processes: ChildProcess[] = [];
  let redisPort: number;
  let sentinelPort: number;
  let url: string;
  let app: INestApplicationContext;
  const queue = uniqueName('it-sentinel');

  beforeAll(async () => {
    redisPort = await freeLocalPort();
    do sentinelPort = await freeLocalPort();
    while (sentinelPort === redisPort);
    url = `sentinel://127.0.0.1:${sentinelPort}/0?master_name=testmaster`;
    let spawnError: Error | undefined;
    const start = (args: string[]) => {
      const child = spawn('redis-server', args, { cwd: directory, stdio: 'ignore' });
      child.once('error', (error) => (spawnError = error)); // no redis-server: fail with the reason, not a crash
      processes.push(child);
    };
    start(['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    writeFileSync(join(directory, 'sentinel.conf'), `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor testmaster 127.0.0.1 ${redisPort} 1\n`);
    start([join(directory, 'sentinel.conf'), '--sentinel']);
    const sentinel = new Redis({ port: sentinelPort, lazyConnect: true, retryStrategy: () => 100 });
    try {
      await eventually(async () => {
        if (spawnError) throw new Error(`Could not start redis-server (apt-get install -y redis-server): ${spawnError.message}`);
        await sentinel.connect().catch(() => undefined);
        const master = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'testmaster').catch(() => null)) as string[] | null;
        return master?.[1] === String(redisPort) ? true : undefined;
      }, 20_000, 'the Sentinel to know its master');
    } finally {
      sentinel.disconnect();
    }
    app = await startCeleryApp(celeryOptionsFromEnvironment({ CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: url, CELERY_QUEUES: queue }, { worker: true }), [], [TasksModule]);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    for (const child of processes) child.kill('SIGTERM');
    rmSync(directory, { recursive: true, force: true });
  });

  it('runs tasks and stores results on the master the Sentinel names', async () => {
    const result = await app.get(CeleryClient).send('tasks.add', [20, 22], { queue });
    expect(await result.get({ timeout: 20_000 })).toBe(42);
    const master = new Redis({ port: redisPort });
    try {
      expect(JSON.parse((await master.get(`celery-task-meta-${result.id}`))!)).toMatchObject({ status: 'SUCCESS', result: 42 });
    } finally {
      master.disconnect();
    }
  }, 60_000);

  it('serves a Python client that uses the same Sentinel, configured the Celery way', async () => {
    const plain = `sentinel://127.0.0.1:${sentinelPort}/0`;
    const value = await runInteropClient<number>(
      `
import json
from interop_tasks import app, add
app.conf.broker_transport_options = {"master_name": "testmaster"}
app.conf.result_backend_transport_options = {"master_name": "testmaster"}
print(json.dumps(add.apply_async((2, 3), queue=${JSON.stringify(queue)}).get(timeout=30)))
`,
      { brokerUrl: plain, resultBackend: plain },
    );
    expect(value).toBe(5);
  }, 60_000);
});

import { INestApplicationContext, Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { CeleryClient, CeleryTask, CeleryWorker } from '../../lib';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { forceCloseConnection, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { eventually, startCeleryApp } from '../support/celery-app';

@Injectable()
class HealingTasks {
  runs = new Map<string, number>();
  /** Held closed by the test until the connection is dropped, so the cut is certain to land mid-run. */
  gate!: Promise<void>;
  openGate!: () => void;

  constructor() {
    this.closeGate();
  }

  closeGate(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  @CeleryTask({ name: 'heal.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  /** Counts its runs per key, so a redelivery after a dropped connection shows. */
  @CeleryTask({ name: 'heal.gated', acksLate: true })
  async gated(key: string): Promise<string> {
    this.runs.set(key, (this.runs.get(key) ?? 0) + 1);
    await this.gate;
    return key;
  }
}

/** Drops the real connections under a running app: the worker and client recover by themselves. */
describe('connections that heal', () => {
  const connectionName = uniqueName('it-heal-connection');
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-heal');
    app = await startCeleryApp(
      { broker: { url: RABBITMQ_URL, connectionName, reconnectDelayMs: 200 }, backend: env.databaseUrl, defaultQueue: env.queue, worker: { concurrency: 4 } },
      [HealingTasks],
    );
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('resumes consuming and sending after RabbitMQ drops the connection; an acksLate task cut off mid-run is not run twice', async () => {
    expect(await (await celery.send('heal.add', [1, 2])).get({ timeout: 10_000 })).toBe(3);
    const tasks = app.get(HealingTasks);
    const interrupted = await celery.send('heal.gated', ['cut']);
    await eventually(() => (tasks.runs.get('cut') === 1 ? true : undefined), 5_000, 'the gated task to start');

    expect(await forceCloseConnection(connectionName)).toBeGreaterThan(0);
    const sentWhileDown = await celery.send('heal.add', [20, 22]);
    // Its message was unacked when the connection dropped: RabbitMQ hands it out again while the
    // first run still holds the gate. The copy waits for that run instead of running beside it.
    const worker = app.get(CeleryWorker);
    await eventually(() => (worker.activeTasks().filter((task) => task.message.id === interrupted.id).length === 2 ? true : undefined), 20_000, 'the redelivered copy');
    tasks.openGate();

    expect(await sentWhileDown.get({ timeout: 20_000 })).toBe(42);
    expect(await interrupted.get({ timeout: 20_000 })).toBe('cut');
    // The first run stored SUCCESS (its ack was lost with the channel): the copy is acked, not run again.
    await eventually(() => (worker.activeTasks().length === 0 ? true : undefined), 10_000, 'the copy to be settled');
    expect(tasks.runs.get('cut')).toBe(1);
  });

  it('keeps storing results when PostgreSQL drops every connection of the backend', async () => {
    expect(await (await celery.send('heal.add', [0, 0])).get({ timeout: 10_000 })).toBe(0); // the pool holds a connection now
    const admin = new Client({ connectionString: env.databaseUrl });
    await admin.connect();
    try {
      const terminated = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      expect(terminated.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    const results = await Promise.all([1, 2, 3].map((value) => celery.send('heal.add', [value, value])));
    expect(await Promise.all(results.map((result) => result.get({ timeout: 20_000 })))).toEqual([2, 4, 6]);
  });
});

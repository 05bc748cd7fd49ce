import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { CeleryClient, CeleryOutbox } from '../../lib';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { startCeleryApp } from '../support/celery-app';

/**
 * The outbox on the embedded default (PGlite and the in-process broker, no server): the app's own
 * DataSource on the same PGlite, no LISTEN there, so the relay's poll carries committed tasks.
 */
describe('transactional outbox on the embedded database (PGlite)', () => {
  let dataSource: DataSource;
  let app: INestApplicationContext;

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', driver: new PGliteDriver().driver });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE orders (id serial PRIMARY KEY, sku text NOT NULL)');
    app = await startCeleryApp({ broker: 'memory://', backend: 'embedded://', outbox: { dataSource, pollIntervalMs: 50 } }, [], [TasksModule]);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
  });

  it('runs the task of a committed transaction and publishes nothing for a rolled-back one', async () => {
    const outbox = app.get(CeleryOutbox);
    let rolledBackId: string | undefined;
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query('INSERT INTO orders (sku) VALUES ($1)', ['refused']);
        rolledBackId = (await outbox.enqueue(manager, 'tasks.add', [1, 1])).id;
        throw new Error('order refused');
      }),
    ).rejects.toThrow('order refused');
    const committed = await dataSource.transaction(async (manager) => {
      await manager.query('INSERT INTO orders (sku) VALUES ($1)', ['accepted']);
      return outbox.enqueue(manager, 'tasks.add', [2, 2]);
    });
    expect(await committed.get({ timeout: 20_000 })).toBe(4);
    expect(await app.get(CeleryClient).asyncResult(rolledBackId!).state()).toBe('PENDING');
    expect(await dataSource.query('SELECT count(*)::int AS n FROM celery_outbox')).toEqual([{ n: 0 }]);
  }, 60_000);

  it('publishes what was committed before the app closes, without waiting for the next poll', async () => {
    // A database of its own, so the other app's relay cannot take the row; no LISTEN on PGlite and a poll a minute away.
    const quiet = new DataSource({ type: 'postgres', driver: new PGliteDriver().driver });
    await quiet.initialize();
    const producer = await startCeleryApp({ broker: 'memory://', backend: false, worker: false, outbox: { dataSource: quiet, pollIntervalMs: 60_000 } });
    try {
      await quiet.transaction((manager) => producer.get(CeleryOutbox).enqueue(manager, 'tasks.add', [3, 3]));
      expect(await quiet.query('SELECT count(*)::int AS n FROM celery_outbox')).toEqual([{ n: 1 }]);
      await producer.close();
      // Deleted only once the broker confirmed it: the relay's last pass at stop published it.
      expect(await quiet.query('SELECT count(*)::int AS n FROM celery_outbox')).toEqual([{ n: 0 }]);
    } finally {
      await producer.close();
      await quiet.destroy();
    }
  }, 60_000);
});

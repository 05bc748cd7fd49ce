import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask, CeleryWorker } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class OrderedTasks {
  readonly order: string[] = [];

  @CeleryTask('ordered.record')
  record(label: string): string {
    this.order.push(label);
    return label;
  }
}

describe('priorities and queue types', () => {
  let env: TestEnvironment;
  const quorum = uniqueName('it-quorum');
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    env = await createTestEnvironment('it-priority');
    app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        backend: env.databaseUrl,
        defaultQueue: env.queue,
        queues: { [env.queue]: { maxPriority: 10 }, [quorum]: { queueType: 'quorum' } },
        worker: { queues: [env.queue, quorum], concurrency: 1, autoStart: false },
      },
      [OrderedTasks],
    );
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await deleteQueues(quorum);
    await deleteExchanges(quorum);
    await env?.dispose();
  });

  it('runs high-priority tasks before a backlog of low-priority ones (x-max-priority, higher first)', async () => {
    const low = [];
    for (let index = 0; index < 8; index++) low.push(await celery.send('ordered.record', [`low-${index}`], { priority: 1 }));
    const high = await Promise.all(['high-a', 'high-b', 'high-c'].map((label) => celery.send('ordered.record', [label], { priority: 9 })));
    await app.get(CeleryWorker).start();
    await Promise.all([...low, ...high].map((result) => result.get({ timeout: 10_000 })));
    const order = app.get(OrderedTasks).order;
    expect(order.slice(0, 3).sort()).toEqual(['high-a', 'high-b', 'high-c']);
    expect(order.slice(3)).toEqual(Array.from({ length: 8 }, (_, index) => `low-${index}`));
  });

  it('consumes a quorum queue (x-queue-type quorum, per-consumer QoS) as well as a classic one', async () => {
    expect(await (await celery.send('ordered.record', ['from-quorum'], { queue: quorum })).get({ timeout: 10_000 })).toBe('from-quorum');
  });
});

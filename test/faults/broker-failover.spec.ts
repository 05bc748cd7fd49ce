import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask } from '../../lib';
import type { Broker } from '../../lib/broker/broker.interface';
import { CELERY_BROKER } from '../../lib/celery.constants';
import { startCeleryApp } from '../support/celery-app';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { PrivateRabbitMq, startPrivateRabbitMq } from '../support/private-rabbitmq';

@Injectable()
class FailoverTasks {
  @CeleryTask({ name: 'failover.echo' })
  echo(value: string): string {
    return value;
  }
}

/**
 * Broker failover as Celery spells it (`broker_url = 'amqp://…;host2:port'`): two private
 * RabbitMQ nodes; the node in use is stopped; the client and the worker move to the next one,
 * declare their queues there and go on. Queues are quorum by default with several brokers, and
 * the worker consumes them without global QoS.
 */
describe('fault: broker failover across a ; list of RabbitMQ nodes', () => {
  let first: PrivateRabbitMq;
  let second: PrivateRabbitMq;
  let database: TestDatabase;
  let app: INestApplicationContext;
  const queue = 'faults-failover';

  beforeAll(async () => {
    [first, second, database] = await Promise.all([startPrivateRabbitMq('failover-a'), startPrivateRabbitMq('failover-b'), createTestDatabase('faults_failover')]);
    app = await startCeleryApp(
      {
        // The second entry is a host only: user, password and vhost come from the first, as in kombu.
        broker: { url: `${first.url}//;127.0.0.1:${second.port}`, maxReconnectDelayMs: 1_000 },
        backend: database.url,
        defaultQueue: queue,
        worker: { queues: [queue] },
      },
      [FailoverTasks],
    );
  }, 180_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await Promise.all([first?.stop(), second?.stop()]);
    await database?.drop();
  }, 120_000);

  it('moves the client and the worker to the next node when theirs stops, and names the node in use', async () => {
    const celery = app.get(CeleryClient);
    const broker = app.get<Broker>(CELERY_BROKER);
    await expect((await celery.send('failover.echo', ['before'])).get({ timeout: 15_000 })).resolves.toBe('before');
    expect(broker.description).toBe(`amqp://guest:***@127.0.0.1:${first.port}//`);
    expect(await first.ctl(['-q', '--no-table-headers', 'list_queues', 'name', 'type'])).toMatch(new RegExp(`^${queue}\\s+quorum$`, 'm'));

    const lostAt = Date.now();
    await first.stopApp();
    const after = await celery.send('failover.echo', ['after']);
    await expect(after.get({ timeout: 15_000 })).resolves.toBe('after');
    const failoverMs = Date.now() - lostAt;
    console.log(`failover: from stopping the node in use to the first task completed on the next: ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(10_000);
    expect(broker.description).toBe(`amqp://127.0.0.1:${second.port}`);
    // Declared again on the node it moved to, as a quorum queue (several brokers).
    expect(await second.ctl(['-q', '--no-table-headers', 'list_queues', 'name', 'type'])).toMatch(new RegExp(`^${queue}\\s+quorum$`, 'm'));
  }, 60_000);
});

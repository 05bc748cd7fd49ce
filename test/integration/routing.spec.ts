import { INestApplicationContext, Injectable } from '@nestjs/common';
import { connect, GetMessage } from 'amqplib';
import { CeleryClient, CeleryTask } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { loadFixture } from '../support/fixtures';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

const own = uniqueName('it-route-own');

@Injectable()
class RoutedTasks {
  @CeleryTask({ name: 'routed.own', queue: own })
  own(): void {}
}

/** Where CeleryClient publishes, read back raw: task_routes, the task's own queue, call options. */
describe('routing', () => {
  const math = uniqueName('it-route-math');
  const everything = uniqueName('it-route-all');
  const images = uniqueName('it-route-images');
  const media = uniqueName('it-route-media');
  let app: INestApplicationContext;
  let celery: CeleryClient;

  beforeAll(async () => {
    app = await startCeleryApp(
      {
        broker: RABBITMQ_URL,
        backend: false,
        defaultQueue: everything,
        queues: { [images]: { exchange: media, exchangeType: 'topic', routingKey: 'media.images.#' } },
        taskRoutes: [{ 'math.add': math, 'math.*': { queue: math, priority: 4 } }, { 'image.*': { queue: images, routingKey: 'media.images.resize' } }],
        worker: false,
      },
      [RoutedTasks],
    );
    celery = app.get(CeleryClient);
  });

  afterAll(async () => {
    await app?.close();
    await deleteQueues(math, everything, own, images);
    await deleteExchanges(math, everything, own, media);
  });

  async function take(queue: string): Promise<GetMessage> {
    const connection = await connect(RABBITMQ_URL);
    try {
      const message = await (await connection.createChannel()).get(queue, { noAck: true });
      if (!message) throw new Error(`nothing in ${queue}`);
      return message;
    } finally {
      await connection.close();
    }
  }

  it('follows task_routes by exact name and glob, with the route priority', async () => {
    await celery.send('math.add', [1, 2]);
    expect((await take(math)).fields).toMatchObject({ exchange: '', routingKey: math });
    await celery.send('math.mul', [1, 2]);
    const routed = await take(math);
    expect(routed.properties.priority).toBe(4);
    await celery.send('other.task');
    expect((await take(everything)).properties.headers!.task).toBe('other.task');
  });

  it("sends a task of this process to its own queue, and lets the call's queue win", async () => {
    await celery.send('routed.own');
    expect((await take(own)).properties.headers!.task).toBe('routed.own');
    await celery.send('math.add', [1, 1], { queue: everything });
    expect((await take(everything)).properties.headers!.task).toBe('math.add');
  });

  it('publishes to a topic exchange with the route key, as Celery 5.2.6 did (task_v2_task_routes_topic_exchange)', async () => {
    const captured = loadFixture('task_v2_task_routes_topic_exchange').message;
    expect([captured.exchange, captured.routing_key]).toEqual(['media', 'media.images.resize']);
    await celery.send('image.resize', [800]);
    const message = await take(images);
    expect(message.fields).toMatchObject({ exchange: media, routingKey: 'media.images.resize' });
  });
});
